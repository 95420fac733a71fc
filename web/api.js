// api.js — the chat page's calls to the server (same origin): the Ollama API's
// /api/tags (models), /api/show (a model's capabilities), /api/ps (loaded
// models), /api/chat (streamed NDJSON replies, and unloading with keep_alive
// 0), /api/pull (streamed progress) and /api/delete (the Models tab), and
// llama-server's GET /props (the default generation settings), and with
// `serve --db` /api/search/info and /api/search (the Documents tab). Adds "Authorization: Bearer KEY"
// when an API key is known; on a 401 it asks for the key through the
// callback given to setKeyPrompt and tries again.

import { loadApiKey, saveApiKey } from "./store.js";

// An HTTP or stream error carrying the server's JSON "error" text.
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

let askForKey = async () => null;

// fn(reason) resolves to the key the user typed, or null if they gave up.
export function setKeyPrompt(fn) {
  askForKey = fn;
}

function headers(extra) {
  const result = { ...extra };
  const key = loadApiKey();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

// The "error" of a JSON error body, else the body text, else the status line.
async function errorText(response) {
  let text = "";
  try { text = await response.text(); } catch { /* body unreadable */ }
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") return body.error;
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
  } catch { /* not JSON */ }
  text = text.trim();
  return text ? text.slice(0, 300) : `HTTP ${response.status} ${response.statusText}`.trim();
}

// One key prompt at a time: requests that get a 401 together share it.
let pendingPrompt = null;

function promptForKey(reason) {
  if (!pendingPrompt) {
    pendingPrompt = Promise.resolve(askForKey(reason)).finally(() => { pendingPrompt = null; });
  }
  return pendingPrompt;
}

// fetch() that retries after asking for a key while the server answers 401
// (unless `quiet`, for background polling), and throws ApiError for any
// other non-2xx answer.
async function request(path, init = {}, { quiet = false } = {}) {
  for (;;) {
    const response = await fetch(path, { ...init, headers: headers(init.headers) });
    if (response.status === 401) {
      const message = await errorText(response);
      const key = quiet ? null : await promptForKey(message);
      if (key) {
        saveApiKey(key);
        continue;
      }
      throw new ApiError(`${message} (an API key is needed)`, 401);
    }
    if (!response.ok) throw new ApiError(await errorText(response), response.status);
    return response;
  }
}

async function getJson(path, quiet = false) {
  const response = await request(path, {}, { quiet });
  return response.json();
}

export async function listModels() {
  const body = await getJson("/api/tags");
  return Array.isArray(body.models) ? body.models : [];
}

// The model's capabilities from /api/show (["completion"] for a chat model,
// ["embedding"] for an embedding model), or null when the server does not say.
export async function modelCapabilities(name) {
  const response = await request("/api/show", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: name }),
  }, { quiet: true });
  const body = await response.json();
  return Array.isArray(body.capabilities) ? body.capabilities : null;
}

// The server's default generation settings for `model` (its overrides
// applied): /props's default_generation_settings.params, llama-server's names
// (temperature, top_k, top_p, min_p, repeat_penalty, n_predict, ...).
export async function serverDefaults(model) {
  const query = model ? `?model=${encodeURIComponent(model)}` : "";
  const body = await getJson(`/props${query}`, true);
  const params = body && body.default_generation_settings && body.default_generation_settings.params;
  if (!params || typeof params !== "object") throw new ApiError("/props has no default_generation_settings.params", 200);
  return params;
}

// quiet: a 401 throws instead of asking for the key (the periodic refresh).
export async function listLoadedModels({ quiet = false } = {}) {
  const body = await getJson("/api/ps", quiet);
  return Array.isArray(body.models) ? body.models : [];
}

export async function unloadModel(name) {
  const response = await request("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: name, messages: [], keep_alive: 0 }),
  });
  await response.text(); // one JSON object (or NDJSON line): nothing to show
}

// Reads an NDJSON body: onObject(object) for each line; an {"error"} line
// throws ApiError.
async function readNdjson(response, onObject) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const handleLine = (line) => {
    if (!line.trim()) return;
    let object;
    try {
      object = JSON.parse(line);
    } catch {
      throw new ApiError(`bad line in the stream: ${line.slice(0, 120)}`, response.status);
    }
    if (object.error) throw new ApiError(String(object.error), response.status);
    onObject(object);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      handleLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  pending += decoder.decode();
  handleLine(pending);
}

// Pulls a model into the server's store: onProgress(object) for each of
// Ollama's progress objects ({status, digest, total, completed}); resolves
// once the last says "success". Aborting `signal` cancels the pull.
export async function pullModel(name, { signal, onProgress }) {
  const response = await request("/api/pull", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: name, stream: true }),
    signal,
  });
  let last = null;
  await readNdjson(response, (object) => {
    last = object;
    onProgress(object);
  });
  if (!last || last.status !== "success") throw new ApiError("the pull ended before it succeeded", response.status);
}

export async function deleteModel(name) {
  const response = await request("/api/delete", {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: name }),
  });
  await response.text();
}

// Streams a chat reply: onChunk(chunk) for every NDJSON object (the first one
// marks the time to first token); resolves to the final {"done":true} object,
// or null if the stream ended without one. Aborting `signal` rejects with an
// AbortError (the caller keeps what it has shown so far).
export async function streamChat(body, { signal, onChunk }) {
  const response = await request("/api/chat", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  let final = null;
  await readNdjson(response, (chunk) => {
    onChunk(chunk);
    if (chunk.done) final = chunk;
  });
  return final;
}

// The server's search database ({db, model, sources, chunks, ...}), or null
// when it was started without --db ({"db": null}; an older server's 404).
export async function searchInfo() {
  try {
    const info = await getJson("/api/search/info", true);
    return info && info.db ? info : null;
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

// POST /api/search: {query, k, mode, path} → {results: [{rank, score, path, first_line, last_line, snippet, text}]}.
export async function searchDocuments(body) {
  const response = await request("/api/search", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.json();
}

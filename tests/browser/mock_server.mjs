// mock_server.mjs — a stand-in for `tinyllm serve` to develop and test the
// web chat page (web/) without the C server: serves web/ at / and fakes the
// endpoints the page uses (/api/tags, /api/show with capabilities, /api/ps,
// /api/chat streamed as NDJSON, unloading with keep_alive 0, 401 without the
// API key, and llama-server's GET /props with the default generation
// settings). Embedding models (--embed-models) are listed but refuse to chat.
// It prints the
// same "listening" line as the real server so scripts/test-browser.sh --mock
// can use it in its place. A dev aid only: no test of the default run uses it.
//
//   node tests/browser/mock_server.mjs [--port 0] [--models a,b]
//        [--embed-models e] [--options NAME=JSON]... [--api-key KEY] [--token-ms 20]
//
// --options gives a model its own default options (Ollama names, as the
// "options" of a NAME.json beside a model for the real server), e.g.
// --options 'a={"num_predict":200}'.
//
// Fake replies: a user message containing "error" gets HTTP 500; one
// containing "code" gets a fenced code block; num_predict caps the pieces
// (-1 = 5000, for testing Stop; absent = the /props default, 128).

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "web"));
const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

const fullName = (name) => (name.includes(":") ? name : `${name}:latest`);

function parseArgs(argv) {
  const args = { port: 0, host: "127.0.0.1", models: ["a", "b"], embedModels: [], options: {}, apiKey: "", tokenMs: 20 };
  for (let i = 0; i < argv.length; i += 1) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case "--port": args.port = Number(value); i += 1; break;
      case "--host": args.host = value; i += 1; break;
      case "--models": args.models = value.split(",").filter(Boolean); i += 1; break;
      case "--embed-models": args.embedModels = value.split(",").filter(Boolean); i += 1; break;
      case "--options": {
        const at = value.indexOf("=");
        args.options[fullName(value.slice(0, at))] = JSON.parse(value.slice(at + 1));
        i += 1;
        break;
      }
      case "--api-key": args.apiKey = value; i += 1; break;
      case "--token-ms": args.tokenMs = Number(value); i += 1; break;
      default:
        console.error(`mock_server: unknown option ${argv[i]}`);
        process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const embedNames = args.embedModels.map(fullName);
// Sorted like the real server's listing (by file name).
const modelNames = [...args.models.map(fullName), ...embedNames].sort();
// GET /props: llama-server's shape, tinyllm's defaults (repeat penalty 1 = off).
const DEFAULT_PARAMS = { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1.0, n_predict: 128, seed: -1 };

// A model's defaults: DEFAULT_PARAMS with its --options (num_predict is n_predict here).
function defaultParams(model) {
  const params = { ...DEFAULT_PARAMS };
  for (const [name, value] of Object.entries(args.options[model] || {})) {
    params[name === "num_predict" ? "n_predict" : name] = value;
  }
  return params;
}
const loaded = new Map(); // name -> expires_at (ms; Infinity = never)
const FAKE_SIZE = 3 * 1024 * 1024;

function sendJson(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function findModel(name) {
  if (typeof name !== "string") return null;
  return modelNames.find((m) => m === name || m === `${name}:latest`) || null;
}

// Ollama's keep_alive: seconds as a number, or "5m", "10s", "1h"; negative = never.
function keepAliveMs(value) {
  if (value === undefined || value === null || value === "") return 300_000;
  if (typeof value === "number") return value < 0 ? Infinity : value * 1000;
  const match = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  if (!match) return null;
  const amount = Number(match[1]);
  if (amount < 0) return Infinity;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] || "s"];
  return amount * unit;
}

function dropExpired() {
  const now = Date.now();
  for (const [name, expires] of loaded) if (expires <= now) loaded.delete(name);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

// A deterministic-ish sequence of reply pieces for a prompt.
function replyPieces(prompt, count, seed) {
  const words = ["The", " little", " model", " thinks", " about", " tokens", ",", " and", " then",
    " it", " writes", " a", " short", " story", " about", " a", " cat", " named", " Tiny", "."];
  const pieces = [];
  if (/code/i.test(prompt)) {
    pieces.push("Here is code:\n", "```c\n", "int main(void) {\n", "    return 0; /* <b>not bold</b> */\n",
      "}\n", "```\n", "Done.");
  }
  let state = seed >>> 0 || 12345;
  while (pieces.length < count) {
    state = (state * 1103515245 + 12345) >>> 0;
    pieces.push(words[state % words.length] + (pieces.length % 9 === 8 ? "\n" : ""));
  }
  return pieces.slice(0, count);
}

// The JSON body of a POST naming a model, and the model's full name; null
// after answering 400 or 404.
async function readModelRequest(req, res) {
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    sendJson(res, 400, { error: "invalid JSON body" });
    return null;
  }
  const model = findModel(body.model);
  if (!model) {
    sendJson(res, 404, { error: `model "${body.model}" not found` });
    return null;
  }
  return { body, model };
}

async function handleChat(req, res) {
  const request = await readModelRequest(req, res);
  if (!request) return;
  const { body, model } = request;
  if (!Array.isArray(body.messages)) return sendJson(res, 400, { error: "\"messages\" must be an array" });
  if (embedNames.includes(model)) return sendJson(res, 400, { error: `"${model}" is an embedding model: it cannot chat` });
  const keepMs = keepAliveMs(body.keep_alive);
  if (keepMs === null) return sendJson(res, 400, { error: `bad keep_alive "${body.keep_alive}"` });
  const createdAt = () => new Date().toISOString();

  if (body.messages.length === 0) {
    if (keepMs === 0) loaded.delete(model);
    else loaded.set(model, Date.now() + keepMs);
    return sendJson(res, 200, {
      model, created_at: createdAt(), message: { role: "assistant", content: "" },
      done_reason: keepMs === 0 ? "unload" : "load", done: true,
    });
  }
  const last = body.messages[body.messages.length - 1];
  const prompt = String(last?.content ?? "");
  if (/error/i.test(prompt)) return sendJson(res, 500, { error: "mock failure: the prompt asked for an error" });

  const started = process.hrtime.bigint();
  const wasLoaded = loaded.has(model);
  loaded.set(model, Infinity); // busy: never expires while generating
  const options = body.options || {};
  let limit = Number.isFinite(options.num_predict) ? options.num_predict : defaultParams(model).n_predict;
  if (limit < 0) limit = 5000;
  const pieces = replyPieces(prompt, limit, options.temperature === 0 ? 1 : options.seed ?? Date.now());
  const promptTokens = body.messages.reduce((n, m) => n + String(m.content).split(/\s+/).length + 4, 0);

  const stream = body.stream !== false;
  let closed = false;
  res.on("close", () => { closed = true; });
  if (stream) res.writeHead(200, { "Content-Type": "application/x-ndjson" });
  const loadNs = wasLoaded ? 1_000_000 : 150_000_000;
  await new Promise((r) => setTimeout(r, wasLoaded ? 30 : 150)); // "loading" and prompt eval
  const evalStart = process.hrtime.bigint();
  let text = "";
  let produced = 0;
  for (const piece of pieces) {
    if (closed) break;
    text += piece;
    produced += 1;
    if (stream) {
      res.write(`${JSON.stringify({
        model, created_at: createdAt(), message: { role: "assistant", content: piece }, done: false,
      })}\n`);
    }
    await new Promise((r) => setTimeout(r, args.tokenMs));
  }
  loaded.set(model, Date.now() + keepMs);
  if (keepMs === 0) loaded.delete(model);
  if (closed) {
    console.error(`mock_server: client went away after ${produced} pieces (cancelled)`);
    return;
  }
  const end = process.hrtime.bigint();
  const final = {
    model, created_at: createdAt(), message: { role: "assistant", content: stream ? "" : text },
    done: true, done_reason: produced >= limit ? "length" : "stop",
    total_duration: Number(end - started), load_duration: loadNs,
    prompt_eval_count: promptTokens, prompt_eval_duration: 20_000_000,
    eval_count: produced, eval_duration: Number(end - evalStart),
  };
  if (stream) res.end(`${JSON.stringify(final)}\n`);
  else sendJson(res, 200, final);
}

async function serveStatic(path, res) {
  const file = path === "/" ? "/index.html" : path;
  if (file.includes("..") || file.slice(1).includes("/")) return sendJson(res, 404, { error: "not found" });
  try {
    const data = await readFile(join(WEB_DIR, file));
    res.writeHead(200, { "Content-Type": CONTENT_TYPES[extname(file)] || "application/octet-stream" });
    res.end(data);
  } catch {
    sendJson(res, 404, { error: `no such page: ${path}` });
  }
}

function handleProps(url, res) {
  const name = url.searchParams.get("model");
  const model = name === null ? null : findModel(name);
  if (name !== null && !model) return sendJson(res, 404, { error: `model "${name}" not found` });
  return sendJson(res, 200, {
    default_generation_settings: { n_ctx: 2048, params: defaultParams(model) },
    total_slots: 1, model_path: model ? `${model}.gguf` : "", build_info: "mock",
  });
}

async function handleShow(req, res) {
  const request = await readModelRequest(req, res);
  if (!request) return;
  const embedding = embedNames.includes(request.model);
  return sendJson(res, 200, {
    modelfile: "", parameters: "", template: embedding ? "" : "{{ .Prompt }}",
    details: { format: "gguf", family: embedding ? "bert" : "llama" },
    model_info: {}, capabilities: [embedding ? "embedding" : "completion"],
  });
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, "http://mock");
  const { pathname } = url;
  try {
    if (pathname === "/props" && req.method === "GET") return handleProps(url, res);
    if (pathname.startsWith("/api/")) {
      if (args.apiKey && req.headers.authorization !== `Bearer ${args.apiKey}`) {
        return sendJson(res, 401, { error: "missing or wrong API key" });
      }
      dropExpired();
      if (pathname === "/api/tags" && req.method === "GET") {
        return sendJson(res, 200, {
          models: modelNames.map((name) => ({
            name, model: name, modified_at: new Date(0).toISOString(), size: FAKE_SIZE, digest: "0".repeat(64),
            details: {
              format: "gguf", family: embedNames.includes(name) ? "bert" : "llama",
              parameter_size: "4M", quantization_level: "Q8_0",
            },
          })),
        });
      }
      if (pathname === "/api/ps" && req.method === "GET") {
        return sendJson(res, 200, {
          models: [...loaded].map(([name, expires]) => ({
            name, model: name, size: FAKE_SIZE, digest: "0".repeat(64),
            details: { format: "gguf", family: "llama" },
            expires_at: new Date(Number.isFinite(expires) ? expires : 8.64e15).toISOString(),
            size_vram: 0,
          })),
        });
      }
      if (pathname === "/api/chat" && req.method === "POST") return await handleChat(req, res);
      if (pathname === "/api/show" && req.method === "POST") return await handleShow(req, res);
      // A server without --db: the page hides its Documents tab.
      if (pathname === "/api/search/info" && req.method === "GET") return sendJson(res, 200, { db: null });
      return sendJson(res, 404, { error: `no route ${req.method} ${pathname}` });
    }
    if (req.method !== "GET") return sendJson(res, 405, { error: "method not allowed" });
    return await serveStatic(pathname, res);
  } catch (error) {
    if (!res.headersSent) sendJson(res, 500, { error: String(error) });
    else res.end();
  }
});

server.listen(args.port, args.host, () => {
  const { port } = server.address();
  console.log(`tinyllm serve: listening on http://${args.host}:${port} (${modelNames.length} models)`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));

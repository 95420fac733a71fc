// store.js — what the chat page keeps in the browser's localStorage: the
// generation settings, the chosen model, the API key and the conversations.
// app.js reads and writes through these helpers only, so the storage keys and
// the shape of a saved conversation live in one place.

const KEY_SETTINGS = "tinyllm.settings.v2";
// Before v2 every number field was saved, defaults included (see loadSettings).
const KEY_SETTINGS_V1 = "tinyllm.settings";
const KEY_CONVERSATIONS = "tinyllm.conversations";
const KEY_CURRENT = "tinyllm.current";
const KEY_MODEL = "tinyllm.model";
const KEY_API_KEY = "tinyllm.apiKey";

// The settings form's fields. An empty string means "the server's default"
// (shown greyed in the form, from GET /props) and is left out of the request:
// only what the user changed is sent.
export const DEFAULT_SETTINGS = Object.freeze({
  system: "",
  temperature: "",
  top_p: "",
  top_k: "",
  min_p: "",
  repeat_penalty: "",
  num_predict: "",
  seed: "",
  bos: "",        // "" = model default, "true", "false"
  template: "",   // "" = model default, else a built-in template name
  keep_alive: "", // "" = server default, else "5m", "0", ...
});

// The page's own defaults before it asked the server: a v1 value equal to one
// of these was never chosen by the user.
const V1_DEFAULTS = { temperature: 0.8, top_p: 0.95, top_k: 40, min_p: 0.05, repeat_penalty: 1.1, num_predict: 256 };

export const TEMPLATE_CHOICES = [
  "chatml", "llama2", "llama3", "phi3", "gemma", "mistral", "zephyr", "deepseek",
];

function readJson(key, fallback) {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : JSON.parse(text);
  } catch {
    return fallback; // corrupt or unavailable storage: start fresh
  }
}

function writeJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Quota exceeded or storage disabled: the page still works for this visit.
  }
}

export function loadSettings() {
  let saved = readJson(KEY_SETTINGS, null);
  if (saved === null) {
    saved = readJson(KEY_SETTINGS_V1, {});
    for (const [name, value] of Object.entries(V1_DEFAULTS)) {
      if (saved && saved[name] === value) delete saved[name];
    }
  }
  const settings = { ...DEFAULT_SETTINGS };
  for (const name of Object.keys(DEFAULT_SETTINGS)) {
    if (saved && Object.prototype.hasOwnProperty.call(saved, name)) settings[name] = saved[name];
  }
  return settings;
}

export function saveSettings(settings) {
  writeJson(KEY_SETTINGS, settings);
  try { localStorage.removeItem(KEY_SETTINGS_V1); } catch { /* see writeJson */ }
}

export function loadChosenModel() {
  return localStorage.getItem(KEY_MODEL) || "";
}

export function saveChosenModel(name) {
  try { localStorage.setItem(KEY_MODEL, name); } catch { /* see writeJson */ }
}

export function loadApiKey() {
  return localStorage.getItem(KEY_API_KEY) || "";
}

export function saveApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_API_KEY, key);
    else localStorage.removeItem(KEY_API_KEY);
  } catch { /* see writeJson */ }
}

// A conversation: {id, title, created, updated, messages: [{role, content,
// model?, metrics?, error?, stopped?}]}. The system prompt is not stored in
// it: it comes from the settings at send time.
export function newConversation() {
  const now = Date.now();
  return {
    id: `c${now.toString(36)}${Math.random().toString(36).slice(2, 7)}`,
    title: "New chat",
    created: now,
    updated: now,
    messages: [],
  };
}

export function loadConversations() {
  const list = readJson(KEY_CONVERSATIONS, []);
  return Array.isArray(list) ? list.filter((c) => c && c.id && Array.isArray(c.messages)) : [];
}

export function saveConversations(list) {
  writeJson(KEY_CONVERSATIONS, list);
}

export function loadCurrentId() {
  return localStorage.getItem(KEY_CURRENT) || "";
}

export function saveCurrentId(id) {
  try { localStorage.setItem(KEY_CURRENT, id); } catch { /* see writeJson */ }
}

// Names a conversation after its first user message.
export function titleFromMessages(messages) {
  const first = messages.find((m) => m.role === "user" && m.content.trim());
  if (!first) return "New chat";
  const line = first.content.trim().replace(/\s+/g, " ");
  return line.length > 40 ? `${line.slice(0, 39)}…` : line;
}

// settings.js — the settings panel: binds the form to the settings saved in
// localStorage (store.js) and turns them into the fields of an /api/chat
// request (options, template, keep_alive). An empty field means the server's
// default: the form shows the chosen model's defaults from GET /props greyed
// (as placeholders) and the request leaves the field out, so only what the
// user changed is sent. The system prompt is added to the messages by app.js.

import { serverDefaults } from "./api.js";
import { DEFAULT_SETTINGS, TEMPLATE_CHOICES, loadSettings, saveSettings } from "./store.js";

const form = document.getElementById("settings-form");
const NUMBER_FIELDS = ["temperature", "top_p", "top_k", "min_p", "repeat_penalty", "num_predict", "seed"];
// The options the server has defaults for: form field -> /props params name.
const SERVER_DEFAULT_NAMES = {
  temperature: "temperature",
  top_p: "top_p",
  top_k: "top_k",
  min_p: "min_p",
  repeat_penalty: "repeat_penalty",
  num_predict: "n_predict",
};

let settings = loadSettings();

function fillForm() {
  for (const name of Object.keys(DEFAULT_SETTINGS)) {
    const field = form.elements.namedItem(name);
    if (field) field.value = settings[name] === undefined || settings[name] === null ? "" : String(settings[name]);
  }
}

// A number field's value, or "" when it is empty or not a number.
function readField(name) {
  const field = form.elements.namedItem(name);
  if (!field) return settings[name];
  if (!NUMBER_FIELDS.includes(name)) return field.value;
  if (field.value.trim() === "") return "";
  const value = Number(field.value);
  return Number.isFinite(value) ? value : "";
}

// 0.949999988079071 (a C float printed as a double) -> "0.95".
function formatDefault(name, value) {
  const text = String(Number(value.toPrecision(6)));
  return name === "num_predict" && value < 0 ? `${text} (no limit)` : text;
}

// Shows `params` (/props's, or null when unknown) as the empty fields' placeholders.
function showServerDefaults(params) {
  for (const [name, serverName] of Object.entries(SERVER_DEFAULT_NAMES)) {
    const field = form.elements.namedItem(name);
    const value = params ? params[serverName] : undefined;
    const known = typeof value === "number" && Number.isFinite(value);
    field.placeholder = known ? formatDefault(name, value) : "server default";
    field.dataset.default = known ? String(value) : "";
    field.title = known ? `Empty: the server's default for this model, ${field.placeholder}` : "Empty: the server's default";
  }
}

// Asks the server for `model`'s defaults; the newest request wins.
let defaultsRequest = 0;
export async function showDefaultsFor(model) {
  const request = ++defaultsRequest;
  let params = null;
  try {
    params = await serverDefaults(model);
  } catch {
    // No /props (an older server): the fields just say "server default".
  }
  if (request !== defaultsRequest) return;
  showServerDefaults(params);
  // For tests/browser: whose defaults are shown, and whether the server had any.
  form.dataset.defaultsFor = model;
  form.dataset.defaults = params ? "server" : "none";

}

export function currentSettings() {
  return settings;
}

// The parts of an /api/chat body the settings decide.
export function requestFields() {
  const options = {};
  for (const name of Object.keys(SERVER_DEFAULT_NAMES)) {
    if (settings[name] !== "") options[name] = Number(settings[name]);
  }
  if (settings.seed !== "") options.seed = Math.trunc(Number(settings.seed));
  if (settings.bos === "true" || settings.bos === "false") options.add_bos = settings.bos === "true";
  const fields = { options };
  if (settings.template) fields.template = settings.template;
  const keepAlive = String(settings.keep_alive || "").trim();
  if (keepAlive) fields.keep_alive = /^-?\d+$/.test(keepAlive) ? Number(keepAlive) : keepAlive;
  return fields;
}

export function startSettings() {
  const templateSelect = form.elements.namedItem("template");
  for (const name of TEMPLATE_CHOICES) templateSelect.append(new Option(name, name));
  showServerDefaults(null);
  fillForm();
  const update = () => {
    const next = {};
    for (const name of Object.keys(DEFAULT_SETTINGS)) next[name] = readField(name);
    settings = next;
    saveSettings(settings);
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("reset-settings").addEventListener("click", () => {
    settings = { ...DEFAULT_SETTINGS };
    saveSettings(settings);
    fillForm();
  });
}

// settings.js — the settings panel: binds the form to the settings saved in
// localStorage (store.js) and turns them into the fields of an /api/chat
// request (options, template, keep_alive). The system prompt is added to the
// messages by app.js.

import { DEFAULT_SETTINGS, TEMPLATE_CHOICES, loadSettings, saveSettings } from "./store.js";

const form = document.getElementById("settings-form");
const NUMBER_FIELDS = ["temperature", "top_p", "top_k", "min_p", "repeat_penalty", "num_predict", "seed"];

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

export function currentSettings() {
  return settings;
}

// The parts of an /api/chat body the settings decide.
export function requestFields() {
  const options = {};
  for (const name of ["temperature", "top_p", "top_k", "min_p", "repeat_penalty", "num_predict"]) {
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

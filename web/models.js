// models.js — the model picker (from /api/tags, each model's capabilities
// from /api/show) and the "Loaded models" panel (from /api/ps, refreshed every
// few seconds, with an Unload button per model). Embedding-only models are
// listed apart and cannot be chosen for chat. app.js starts it with
// startModels() and asks chosenModel() which model the next message goes to.

import { listLoadedModels, listModels, modelCapabilities, unloadModel } from "./api.js";
import { loadChosenModel, saveChosenModel } from "./store.js";
import { formatBytes, formatExpiry } from "./render.js";

const REFRESH_MS = 3000;

const modelSelect = document.getElementById("model-select");
const loadedList = document.getElementById("loaded-models");
const loadedEmpty = document.getElementById("loaded-empty");

let reportError = () => {};
let reportChoice = () => {};
let reportedChoice = null;

export function chosenModel() {
  return modelSelect.value;
}

// Chooses `name` for chat (the Models tab's "Chat"), as picking it would.
export function chooseModel(name) {
  if (![...modelSelect.options].some((option) => option.value === name && !option.disabled)) return false;
  modelSelect.value = name;
  saveChosenModel(name);
  announceChoice();
  return true;
}

// Tells the listener (the settings panel) when the chosen model changes.
function announceChoice() {
  if (modelSelect.value === reportedChoice) return;
  reportedChoice = modelSelect.value;
  reportChoice(reportedChoice);
}

// name + digest -> capabilities (null: unknown); a changed file is asked again.
const capabilityCache = new Map();

async function capabilitiesOf(model, name) {
  const key = `${name}\n${model.digest || model.modified_at || ""}`;
  if (!capabilityCache.has(key)) {
    // A server without /api/show capabilities: every model counts as a chat model.
    capabilityCache.set(key, await modelCapabilities(name).catch(() => null));
  }
  return capabilityCache.get(key);
}

function isEmbeddingOnly(capabilities) {
  return Array.isArray(capabilities) && capabilities.includes("embedding") && !capabilities.includes("completion");
}

function modelOption(model, name) {
  const details = model.details || {};
  const extra = [details.parameter_size, details.quantization_level, formatBytes(model.size)]
    .filter(Boolean).join(", ");
  return new Option(extra ? `${name} (${extra})` : name, name);
}

// Fills the picker from /api/tags: chat models first, embedding-only models
// in a disabled group of their own. Keeps the chosen model, else the last one
// used (localStorage), else the first chat model.
export async function refreshModelList() {
  let models;
  try {
    models = await listModels();
  } catch (error) {
    reportError(`Could not list the models: ${error.message}`);
    return;
  }
  const named = models.map((model) => ({ model, name: model.name || model.model }));
  const capabilities = await Promise.all(named.map(({ model, name }) => capabilitiesOf(model, name)));
  const chat = named.filter((_, i) => !isEmbeddingOnly(capabilities[i]));
  const embedding = named.filter((_, i) => isEmbeddingOnly(capabilities[i]));

  const wanted = [modelSelect.value, loadChosenModel()];
  modelSelect.replaceChildren();
  if (chat.length === 0) {
    const option = new Option(models.length === 0 ? "(no models)" : "(no chat models)", "");
    option.disabled = true;
    modelSelect.append(option);
  }
  let chatParent = modelSelect;
  if (embedding.length > 0 && chat.length > 0) {
    chatParent = document.createElement("optgroup");
    chatParent.label = "Chat models";
    modelSelect.append(chatParent);
  }
  for (const { model, name } of chat) chatParent.append(modelOption(model, name));
  if (embedding.length > 0) {
    const group = document.createElement("optgroup");
    group.label = "Embedding models (not for chat)";
    group.disabled = true;
    group.dataset.testid = "embedding-models";
    for (const { model, name } of embedding) group.append(modelOption(model, name));
    modelSelect.append(group);
  }
  const names = chat.map(({ name }) => name);
  modelSelect.value = wanted.find((name) => names.includes(name)) || names[0] || "";
  announceChoice();
}

function renderLoaded(models) {
  loadedList.replaceChildren();
  loadedEmpty.hidden = models.length > 0;
  for (const model of models) {
    const item = document.createElement("li");
    item.className = "loaded-model";
    item.dataset.testid = "loaded-model";
    item.dataset.model = model.name || model.model || "";

    const name = document.createElement("span");
    name.className = "loaded-name";
    name.textContent = item.dataset.model;
    const info = document.createElement("span");
    info.className = "muted small";
    const expiry = formatExpiry(model.expires_at);
    info.textContent = [formatBytes(model.size), expiry && `unloads ${expiry}`].filter(Boolean).join(" · ");

    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small";
    button.dataset.testid = "unload";
    button.textContent = "Unload";
    button.setAttribute("aria-label", `Unload ${item.dataset.model}`);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await unloadModel(item.dataset.model);
      } catch (error) {
        reportError(`Could not unload ${item.dataset.model}: ${error.message}`);
      }
      await refreshLoaded();
    });

    const text = document.createElement("div");
    text.className = "loaded-text";
    text.append(name, info);
    item.append(text, button);
    loadedList.append(item);
  }
}

let refreshing = false;

// Redraws the loaded-models panel; `quiet` (the timer) never asks for a key.
export async function refreshLoaded({ quiet = false } = {}) {
  if (refreshing) return;
  refreshing = true;
  try {
    renderLoaded(await listLoadedModels({ quiet }));
  } catch {
    // The periodic refresh stays quiet (the server may be restarting); the
    // picker and chat report errors where the user acts.
  } finally {
    refreshing = false;
  }
}

// onError(text) shows an error line; onChoice(name) hears of the chosen model.
export function startModels(onError, onChoice) {
  reportError = onError;
  reportChoice = onChoice;
  modelSelect.addEventListener("change", () => {
    saveChosenModel(modelSelect.value);
    announceChoice();
  });
  document.getElementById("refresh-models").addEventListener("click", () => {
    refreshModelList();
    refreshLoaded();
  });
  setInterval(() => {
    if (!document.hidden) refreshLoaded({ quiet: true });
  }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refreshLoaded({ quiet: true });
  });
  return Promise.all([refreshModelList(), refreshLoaded()]);
}

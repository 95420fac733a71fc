// models.js — the model picker (from /api/tags) and the "Loaded models"
// panel (from /api/ps, refreshed every few seconds, with an Unload button per
// model). app.js starts it with startModels() and asks chosenModel() which
// model the next message goes to.

import { listLoadedModels, listModels, unloadModel } from "./api.js";
import { loadChosenModel, saveChosenModel } from "./store.js";
import { formatBytes, formatExpiry } from "./render.js";

const REFRESH_MS = 3000;

const modelSelect = document.getElementById("model-select");
const loadedList = document.getElementById("loaded-models");
const loadedEmpty = document.getElementById("loaded-empty");

let reportError = () => {};

export function chosenModel() {
  return modelSelect.value;
}

// Fills the picker from /api/tags, keeping the chosen model when it is still
// there.
export async function refreshModelList() {
  let models;
  try {
    models = await listModels();
  } catch (error) {
    reportError(`Could not list the models: ${error.message}`);
    return;
  }
  const wanted = modelSelect.value || loadChosenModel();
  modelSelect.replaceChildren();
  if (models.length === 0) {
    const option = new Option("(no models)", "");
    option.disabled = true;
    modelSelect.append(option);
  }
  for (const model of models) {
    const name = model.name || model.model;
    const details = model.details || {};
    const extra = [details.parameter_size, details.quantization_level, formatBytes(model.size)]
      .filter(Boolean).join(", ");
    modelSelect.append(new Option(extra ? `${name} (${extra})` : name, name));
  }
  const names = models.map((m) => m.name || m.model);
  if (names.includes(wanted)) modelSelect.value = wanted;
  else if (names.length > 0) modelSelect.value = names[0];
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

// onError(text) shows an error line.
export function startModels(onError) {
  reportError = onError;
  modelSelect.addEventListener("change", () => saveChosenModel(modelSelect.value));
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

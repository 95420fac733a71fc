// models_tab.js — the side panel's tabs (Settings | Models | Documents: each
// tab button's aria-controls names its panel, which gets a "tabshown" event
// when it opens; documents_tab.js fills the last) and the Models
// tab: the server's models (from /api/tags: name, size, quantization,
// modified) each with "Chat" (choose it in the picker) and "Delete" (after a
// confirmation; /api/delete), and pulling a model by name (/api/pull) with a
// progress bar fed by its stream. A server started without --allow-pull
// answers 403: its message shows on the error line.

import { deleteModel, listModels, pullModel } from "./api.js";
import { chooseModel, refreshModelList } from "./models.js";
import { formatBytes } from "./render.js";

const tabs = [...document.querySelectorAll(".tabs [role=tab]")].map((button) => (
  { button, panel: document.getElementById(button.getAttribute("aria-controls")) }));
const list = document.getElementById("store-models");
const empty = document.getElementById("store-empty");
const form = document.getElementById("pull-form");
const nameInput = document.getElementById("pull-name");
const pullButton = document.getElementById("pull-button");
const box = document.getElementById("pull-box");
const bar = document.getElementById("pull-progress");
const statusText = document.getElementById("pull-status");

let reportError = () => {};
let clearError = () => {};

function showTab(index) {
  tabs.forEach((tab, i) => {
    const selected = i === index;
    tab.button.setAttribute("aria-selected", String(selected));
    tab.button.tabIndex = selected ? 0 : -1;
    tab.panel.hidden = !selected;
  });
  if (tabs[index].panel.id === "models-tab") refreshStoreList();
  tabs[index].panel.dispatchEvent(new Event("tabshown"));
}

function formatModified(text) {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

function modelItem(model) {
  const name = model.name || model.model || "";
  const details = model.details || {};
  const item = document.createElement("li");
  item.className = "store-model";
  item.dataset.testid = "store-model";
  item.dataset.model = name;

  const title = document.createElement("span");
  title.className = "loaded-name";
  title.textContent = name;
  const info = document.createElement("span");
  info.className = "muted small";
  info.dataset.testid = "store-model-info";
  info.textContent = [formatBytes(model.size), details.quantization_level, formatModified(model.modified_at)]
    .filter(Boolean).join(" · ");
  const text = document.createElement("div");
  text.className = "loaded-text";
  text.append(title, info);

  const use = document.createElement("button");
  use.type = "button";
  use.className = "button small";
  use.dataset.testid = "use-model";
  use.textContent = "Chat";
  use.setAttribute("aria-label", `Chat with ${name}`);
  use.addEventListener("click", () => chooseModel(name));

  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "button small danger";
  remove.dataset.testid = "delete-model";
  remove.textContent = "Delete";
  remove.setAttribute("aria-label", `Delete ${name}`);
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Delete ${name} from the server? Its file is removed unless another name uses it.`)) return;
    remove.disabled = true;
    try {
      await deleteModel(name);
      clearError();
    } catch (error) {
      reportError(`Could not delete ${name}: ${error.message}`);
    }
    await Promise.all([refreshStoreList(), refreshModelList()]);
  });

  item.append(text, use, remove);
  return item;
}

export async function refreshStoreList() {
  let models;
  try {
    models = await listModels();
  } catch (error) {
    reportError(`Could not list the models: ${error.message}`);
    return;
  }
  list.replaceChildren(...models.map(modelItem));
  empty.hidden = models.length > 0;
}

// One progress object of the pull's stream on the bar and the line beside it.
function showProgress(object) {
  const status = String(object.status || "");
  if (object.total > 0) {
    const percent = Math.min(100, Math.floor((100 * (object.completed || 0)) / object.total));
    bar.value = percent;
    statusText.textContent = `${status} — ${percent}% of ${formatBytes(object.total)}`;
  } else {
    if (status === "success") bar.value = 100;
    statusText.textContent = status;
  }
}

async function pull(event) {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (!name) return;
  pullButton.disabled = true;
  box.hidden = false;
  bar.value = 0;
  statusText.textContent = `pulling ${name}…`;
  try {
    await pullModel(name, { onProgress: showProgress });
    bar.value = 100;
    statusText.textContent = `${name}: success`;
    nameInput.value = "";
    clearError();
  } catch (error) {
    statusText.textContent = `${name}: failed`;
    reportError(`Could not pull ${name}: ${error.message}`);
  } finally {
    pullButton.disabled = false;
  }
  await Promise.all([refreshStoreList(), refreshModelList()]);
}

// onError(text) shows an error line, onClear() hides it.
export function startModelsTab(onError, onClear) {
  reportError = onError;
  clearError = onClear;
  tabs.forEach((tab, i) => tab.button.addEventListener("click", () => showTab(i)));
  form.addEventListener("submit", pull);
}

// documents_tab.js — the side panel's Documents tab and the chat's "answer
// from my documents", for a server started with --db FILE (a search database
// made by `tinyllm index`): a search box with a mode (hybrid, vector, text)
// whose results show path:lines, score and snippet; clicking one opens the
// whole chunk in a dialog, as do the numbered sources listed under an answer
// from documents. Without --db (/api/search/info is a 404) the tab and the
// toggle are hidden.

import { searchDocuments, searchInfo } from "./api.js";

const tabButton = document.getElementById("tab-documents");
const panel = document.getElementById("documents-tab");
const infoLine = document.getElementById("docs-info");
const form = document.getElementById("docs-form");
const queryInput = document.getElementById("docs-query");
const modeSelect = document.getElementById("docs-mode");
const results = document.getElementById("docs-results");
const emptyLine = document.getElementById("docs-empty");
const toggle = document.getElementById("use-documents-box");
const toggleInput = document.getElementById("use-documents");
const dialog = document.getElementById("chunk-dialog");

let reportError = () => {};
let clearError = () => {};
let available = false;

// "path:3-7" (one line: "path:3").
export function formatLocation(hit) {
  const lines = hit.first_line === hit.last_line ? `${hit.first_line}` : `${hit.first_line}-${hit.last_line}`;
  return `${hit.path}:${lines}`;
}

// Opens the chunk (a search result or an answer's source) in the dialog.
export function showChunk(hit, label = "") {
  document.getElementById("chunk-title").textContent = `${label}${formatLocation(hit)}`;
  document.getElementById("chunk-text").textContent = hit.text || "";
  if (!dialog.open) dialog.showModal();
}

// The chat request's "documents" field while the toggle is on, else nothing.
export function documentsField() {
  return available && toggleInput.checked ? { documents: { k: 4 } } : {};
}

// The numbered sources under an answer: [n] path:lines, each opening its chunk.
export function sourcesList(sources) {
  const box = document.createElement("div");
  box.className = "message-sources";
  box.dataset.testid = "sources";
  const title = document.createElement("span");
  title.className = "muted small";
  title.textContent = "Sources:";
  box.append(title);
  for (const source of sources) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small ghost source";
    button.dataset.testid = "source";
    button.textContent = `[${source.n}] ${formatLocation(source)}`;
    button.title = "Show this chunk";
    button.addEventListener("click", () => showChunk(source, `[${source.n}] `));
    box.append(button);
  }
  return box;
}

function resultItem(hit) {
  const item = document.createElement("li");
  item.className = "doc-result";
  item.dataset.testid = "doc-result";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "doc-open";
  open.dataset.testid = "doc-open";
  const head = document.createElement("span");
  head.className = "doc-head";
  const where = document.createElement("span");
  where.className = "doc-path";
  where.dataset.testid = "doc-path";
  where.textContent = formatLocation(hit);
  const score = document.createElement("span");
  score.className = "muted small doc-score";
  score.dataset.testid = "doc-score";
  score.textContent = Number(hit.score).toFixed(4);
  head.append(where, score);
  const snippet = document.createElement("span");
  snippet.className = "doc-snippet small";
  snippet.dataset.testid = "doc-snippet";
  snippet.textContent = hit.snippet || "";
  open.append(head, snippet);
  open.addEventListener("click", () => showChunk(hit));
  item.append(open);
  return item;
}

async function search(event) {
  event.preventDefault();
  const query = queryInput.value.trim();
  if (!query) return;
  try {
    const body = await searchDocuments({ query, mode: modeSelect.value, k: 10 });
    results.replaceChildren(...body.results.map(resultItem));
    emptyLine.hidden = body.results.length > 0;
    clearError();
  } catch (error) {
    reportError(`Search failed: ${error.message}`);
  }
}

// Asks the server whether it has a search database; shows or hides the tab
// and the toggle.
async function refreshInfo() {
  let info = null;
  try {
    info = await searchInfo();
  } catch {
    info = null;
  }
  available = info !== null;
  tabButton.hidden = !available;
  toggle.hidden = !available;
  if (!available) {
    infoLine.textContent = "Start the server with --db FILE to search your documents.";
    return;
  }
  const counts = Number.isFinite(info.chunks) ? `${info.sources} files, ${info.chunks} chunks` : "";
  infoLine.textContent = [info.db, counts, info.model ? `embedded with ${info.served_as || info.model}` : "nothing indexed yet"]
    .filter(Boolean).join(" · ");
}

// onError(text) shows an error line, onClear() hides it.
export function startDocumentsTab(onError, onClear) {
  reportError = onError;
  clearError = onClear;
  form.addEventListener("submit", search);
  panel.addEventListener("tabshown", refreshInfo);
  document.getElementById("chunk-close").addEventListener("click", () => dialog.close());
  refreshInfo();
}

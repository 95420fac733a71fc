// app.js — the chat page's main module: the conversation list (sidebar), the
// messages of the open conversation, sending a message and streaming the reply
// (with Stop, Retry and Edit), the error line and the API-key dialog. The
// model picker and loaded-models panel are in models.js, the Models tab (pull,
// delete) in models_tab.js, the Documents tab and answers from documents
// (numbered sources) in documents_tab.js, the settings panel in
// settings.js, showing and hiding the side columns in layout.js, the server
// calls in api.js, storage in store.js.

import { setKeyPrompt, streamChat } from "./api.js";
import { documentsField, sourcesList, startDocumentsTab } from "./documents_tab.js";
import { startLayout } from "./layout.js";
import { chosenModel, refreshLoaded, startModels } from "./models.js";
import { startModelsTab } from "./models_tab.js";
import { formatMetrics, renderMessageText } from "./render.js";
import { currentSettings, requestFields, showDefaultsFor, startSettings } from "./settings.js";
import {
  loadConversations, loadCurrentId, newConversation, saveChosenModel, saveConversations, saveCurrentId,
  titleFromMessages,
} from "./store.js";

const messagesView = document.getElementById("messages");
const emptyHint = document.getElementById("empty-hint");
const conversationList = document.getElementById("conversation-list");
const errorLine = document.getElementById("error-line");
const composer = document.getElementById("composer");
const promptInput = document.getElementById("prompt");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");

let conversations = loadConversations();
let current = null;
// The reply being streamed: {conversation, message, element, controller}.
let streaming = null;

// ---- error line --------------------------------------------------------

function showError(text) {
  errorLine.textContent = text;
  errorLine.hidden = false;
}

function clearError() {
  errorLine.textContent = "";
  errorLine.hidden = true;
}

// ---- conversations -----------------------------------------------------

function persist() {
  saveConversations(conversations);
}

function openConversation(conversation) {
  current = conversation;
  saveCurrentId(conversation.id);
  renderConversationList();
  renderMessages();
}

function startNewConversation() {
  // Reuse an untouched empty conversation instead of piling them up.
  const empty = conversations.find((c) => c.messages.length === 0);
  const conversation = empty || newConversation();
  if (!empty) conversations.unshift(conversation);
  persist();
  openConversation(conversation);
  promptInput.focus();
}

function deleteConversation(conversation) {
  if (streaming && streaming.conversation === conversation) streaming.controller.abort();
  conversations = conversations.filter((c) => c !== conversation);
  persist();
  if (current === conversation) {
    if (conversations.length > 0) openConversation(conversations[0]);
    else startNewConversation();
  } else {
    renderConversationList();
  }
}

function renderConversationList() {
  conversationList.replaceChildren();
  const sorted = [...conversations].sort((a, b) => b.updated - a.updated);
  for (const conversation of sorted) {
    const item = document.createElement("li");
    item.className = "conversation" + (conversation === current ? " active" : "");
    item.dataset.testid = "conversation";
    item.dataset.id = conversation.id;

    const open = document.createElement("button");
    open.type = "button";
    open.className = "conversation-open";
    open.textContent = conversation.title;
    open.title = conversation.title;
    if (conversation === current) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => openConversation(conversation));

    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button icon small conversation-delete";
    remove.dataset.testid = "delete-conversation";
    remove.textContent = "✕";
    remove.title = "Delete this conversation";
    remove.setAttribute("aria-label", `Delete conversation ${conversation.title}`);
    remove.addEventListener("click", () => deleteConversation(conversation));

    item.append(open, remove);
    conversationList.append(item);
  }
}

// Called after the messages of `conversation` changed.
function touch(conversation) {
  conversation.updated = Date.now();
  conversation.title = titleFromMessages(conversation.messages);
  persist();
  renderConversationList();
}

// ---- messages ----------------------------------------------------------

function actionButton(label, testid, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button small ghost";
  button.dataset.testid = testid;
  button.textContent = label;
  button.addEventListener("click", onClick);
  return button;
}

function renderMessage(message, index) {
  const article = document.createElement("article");
  article.className = `message ${message.role}`;
  article.dataset.testid = "message";
  article.dataset.role = message.role;
  article.dataset.index = String(index);

  const meta = document.createElement("div");
  meta.className = "message-meta";
  meta.textContent = message.role === "user" ? "You" : message.model || "assistant";

  const content = document.createElement("div");
  content.className = "message-content";
  content.dataset.testid = "message-content";
  renderMessageText(content, message.content);

  const metrics = document.createElement("div");
  metrics.className = "message-metrics";
  metrics.dataset.testid = "metrics";
  if (message.metrics) metrics.textContent = formatMetrics(message.metrics);

  const error = document.createElement("div");
  error.className = "message-error";
  error.dataset.testid = "message-error";
  error.textContent = message.error || "";
  error.hidden = !message.error;

  const actions = document.createElement("div");
  actions.className = "message-actions";
  const isLast = index === current.messages.length - 1;
  const busy = streaming !== null;
  if (!busy) {
    if (message.role === "user") {
      actions.append(actionButton("Edit", "edit", () => beginEdit(article, index)));
    }
    if (isLast) {
      actions.append(actionButton("Retry", "retry", () => retryLast()));
    }
  }
  if (message.role === "assistant" && message.content) {
    actions.append(actionButton("Copy", "copy", () => navigator.clipboard?.writeText(message.content)));
  }

  article.append(meta, content);
  if (Array.isArray(message.sources) && message.sources.length > 0) article.append(sourcesList(message.sources));
  article.append(metrics, error, actions);
  return article;
}

function renderMessages() {
  messagesView.replaceChildren();
  if (!current || current.messages.length === 0) {
    messagesView.append(emptyHint);
    return;
  }
  current.messages.forEach((message, index) => {
    const element = renderMessage(message, index);
    if (streaming && streaming.message === message) {
      element.classList.add("streaming");
      streaming.element = element;
    }
    messagesView.append(element);
  });
  scrollToEnd(true);
}

// Keeps the newest text in view unless the user scrolled up to read.
function scrollToEnd(force) {
  const nearBottom = messagesView.scrollHeight - messagesView.scrollTop - messagesView.clientHeight < 80;
  if (force || nearBottom) messagesView.scrollTop = messagesView.scrollHeight;
}

// Replaces a user message's text with an editor; "Save & send" keeps the
// conversation up to that message and asks again.
function beginEdit(article, index) {
  const message = current.messages[index];
  const content = article.querySelector(".message-content");
  const actions = article.querySelector(".message-actions");
  const editor = document.createElement("textarea");
  editor.className = "edit-box";
  editor.dataset.testid = "edit-box";
  editor.value = message.content;
  editor.rows = Math.min(12, Math.max(2, message.content.split("\n").length));
  editor.setAttribute("aria-label", "Edit message");
  const save = actionButton("Save & send", "edit-save", () => {
    const text = editor.value.trim();
    if (!text) return;
    const conversation = current;
    conversation.messages = conversation.messages.slice(0, index + 1);
    conversation.messages[index] = { role: "user", content: text };
    touch(conversation);
    generate(conversation);
  });
  save.classList.replace("ghost", "primary");
  const cancel = actionButton("Cancel", "edit-cancel", () => renderMessages());
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save.click();
    } else if (event.key === "Escape") {
      cancel.click();
    }
  });
  content.replaceChildren(editor);
  actions.replaceChildren(save, cancel);
  editor.focus();
}

// Regenerates the last reply (or answers a user message left without one).
function retryLast() {
  const conversation = current;
  const last = conversation.messages[conversation.messages.length - 1];
  if (!last) return;
  if (last.role === "assistant") conversation.messages.pop();
  if (conversation.messages.length === 0) return;
  touch(conversation);
  generate(conversation);
}

// ---- sending -----------------------------------------------------------

function setBusy(busy) {
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  sendButton.disabled = busy;
  document.body.classList.toggle("busy", busy);
}

function sendFromComposer() {
  const text = promptInput.value.trim();
  if (!text || streaming) return;
  if (!chosenModel()) {
    showError("No chat model chosen: pick one in the Model list (is the server's models directory empty, "
      + "or does it hold embedding models only?).");
    return;
  }
  const conversation = current;
  conversation.messages.push({ role: "user", content: text });
  promptInput.value = "";
  touch(conversation);
  generate(conversation);
}

// Streams a reply to the conversation's messages into a new assistant
// message, updating its text and metrics as chunks arrive.
async function generate(conversation) {
  const model = chosenModel();
  if (!model) {
    showError("No model chosen.");
    renderMessages();
    return;
  }
  clearError();
  saveChosenModel(model); // the last used model is the one chosen next time
  const settings = currentSettings();
  const history = conversation.messages.map((m) => ({ role: m.role, content: m.content }));
  if (settings.system && settings.system.trim()) {
    history.unshift({ role: "system", content: settings.system });
  }
  const message = { role: "assistant", content: "", model, metrics: { chunks: 0 } };
  conversation.messages.push(message);
  const controller = new AbortController();
  streaming = { conversation, message, element: null, controller };
  setBusy(true);
  if (conversation === current) renderMessages();

  const sentAt = performance.now();
  let firstChunkAt = 0;
  let drawPending = false;
  const draw = () => {
    drawPending = false;
    const element = streaming && streaming.message === message ? streaming.element : null;
    if (!element || !element.isConnected) return;
    renderMessageText(element.querySelector(".message-content"), message.content);
    element.querySelector(".message-metrics").textContent = formatMetrics(message.metrics);
    scrollToEnd(false);
  };
  const scheduleDraw = () => {
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(draw);
    }
  };

  try {
    const final = await streamChat(
      { model, messages: history, ...requestFields(), ...documentsField() },
      {
        signal: controller.signal,
        onChunk(chunk) {
          const now = performance.now();
          if (!firstChunkAt) {
            firstChunkAt = now;
            message.metrics.ttftMs = now - sentAt;
          }
          message.metrics.chunks += 1;
          message.metrics.streamMs = now - firstChunkAt;
          if (chunk.message && typeof chunk.message.content === "string") message.content += chunk.message.content;
          scheduleDraw();
        },
      },
    );
    if (final) {
      for (const name of ["done_reason", "total_duration", "load_duration", "prompt_eval_count",
        "prompt_eval_duration", "eval_count", "eval_duration", "draft_n", "draft_n_accepted"]) {
        if (final[name] !== undefined) message.metrics[name] = final[name];
      }
      if (Array.isArray(final.sources)) message.sources = final.sources;
    } else {
      message.error = "The reply stream ended early (no final message).";
    }
  } catch (error) {
    if (error.name === "AbortError") {
      message.metrics.stopped = true;
    } else {
      const text = error.message || String(error);
      showError(`Error: ${text}`);
      message.error = text;
    }
  } finally {
    // An error before any text leaves no reply behind, just the error line.
    if (message.error && !message.content) {
      conversation.messages = conversation.messages.filter((m) => m !== message);
    }
    streaming = null;
    setBusy(false);
    touch(conversation);
    if (conversation === current) renderMessages();
    refreshLoaded();
    if (conversation === current) promptInput.focus();
  }
}

// ---- API key dialog ----------------------------------------------------

function askForKey(reason) {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  document.getElementById("key-reason").textContent = reason || "The server asks for an API key.";
  input.value = "";
  return new Promise((resolve) => {
    const cancel = document.getElementById("key-cancel");
    const onCancel = () => dialog.close("cancel");
    cancel.addEventListener("click", onCancel, { once: true });
    dialog.addEventListener("close", () => {
      cancel.removeEventListener("click", onCancel);
      resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
}

// ---- start -------------------------------------------------------------

function start() {
  setKeyPrompt(askForKey);
  startLayout();
  startSettings();
  startModelsTab(showError, clearError);
  startDocumentsTab(showError, clearError);
  startModels(showError, showDefaultsFor);

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendFromComposer();
  });
  promptInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFromComposer();
    }
  });
  stopButton.addEventListener("click", () => streaming && streaming.controller.abort());
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && streaming && !document.getElementById("key-dialog").open) {
      streaming.controller.abort();
    }
  });
  document.getElementById("new-chat").addEventListener("click", startNewConversation);
  const saved = conversations.find((c) => c.id === loadCurrentId());
  if (saved) openConversation(saved);
  else startNewConversation();
  promptInput.focus();
}

start();

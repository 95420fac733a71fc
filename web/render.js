// render.js — turns message text and numbers into DOM nodes and labels for
// the chat page. Model output is only ever put in the page as text
// (textContent / text nodes), never as HTML: the one bit of markdown
// understood, ``` fenced code blocks, becomes <pre><code> built with DOM calls.

// Fills `element` with `text`: plain paragraphs keep their newlines (CSS
// white-space: pre-wrap); ```lang ... ``` fences become code blocks (an
// unclosed fence, as while a reply streams, runs to the end).
export function renderMessageText(element, text) {
  element.replaceChildren();
  // Replies often open with the space of their first token: not shown.
  const parts = text.replace(/^\s+/, "").split("```");
  parts.forEach((part, index) => {
    if (index % 2 === 0) {
      // The newlines that end a fence line belong to the fence, not the prose.
      if (index > 0) part = part.replace(/^\n/, "");
      if (index < parts.length - 1) part = part.replace(/\n$/, "");
      if (part) {
        const span = document.createElement("span");
        span.className = "prose";
        span.textContent = part;
        element.append(span);
      }
      return;
    }
    // Inside a fence: an optional language word on the first line.
    const newline = part.indexOf("\n");
    const firstLine = newline >= 0 ? part.slice(0, newline) : "";
    const isLanguage = /^[\w+#.-]{1,20}$/.test(firstLine.trim());
    const code = isLanguage ? part.slice(newline + 1) : part.replace(/^\n/, "");
    const pre = document.createElement("pre");
    pre.className = "code";
    if (isLanguage) pre.dataset.lang = firstLine.trim();
    const codeElement = document.createElement("code");
    codeElement.textContent = code.replace(/\n$/, "");
    pre.append(codeElement);
    element.append(pre);
  });
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes <= 0) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

// "in 4m 10s", "in 12s", "now", "never" for an /api/ps expires_at.
export function formatExpiry(expiresAt, now = Date.now()) {
  if (!expiresAt) return "";
  const when = Date.parse(expiresAt);
  if (!Number.isFinite(when)) return "";
  const seconds = Math.round((when - now) / 1000);
  if (seconds > 365 * 24 * 3600) return "never";
  if (seconds <= 0) return "now";
  const minutes = Math.floor(seconds / 60);
  if (minutes >= 60) return `in ${Math.floor(minutes / 60)}h ${minutes % 60}m`;
  return minutes > 0 ? `in ${minutes}m ${seconds % 60}s` : `in ${seconds}s`;
}

// The metrics line under a reply: from the final chunk's counters when there
// is one, else (streaming or stopped) from what the client counted.
export function formatMetrics(metrics) {
  const parts = [];
  if (metrics.eval_count > 0 && metrics.eval_duration > 0) {
    const seconds = metrics.eval_duration / 1e9;
    parts.push(`${(metrics.eval_count / seconds).toFixed(1)} tokens/s`);
    parts.push(`${(metrics.eval_duration / 1e6 / metrics.eval_count).toFixed(1)} ms/token`);
    parts.push(`${metrics.eval_count} tokens`);
  } else if (metrics.chunks > 0) {
    parts.push(`${metrics.chunks} chunks`);
    if (metrics.streamMs > 0 && metrics.chunks > 1) {
      parts.push(`~${((metrics.chunks - 1) / (metrics.streamMs / 1000)).toFixed(1)} tokens/s`);
    }
  }
  if (metrics.draft_n > 0) { // speculative decoding (tinyllm serve --draft / --lookup)
    const accepted = metrics.draft_n_accepted || 0;
    parts.push(`drafted ${metrics.draft_n}, accepted ${accepted} (${(100 * accepted / metrics.draft_n).toFixed(0)}%)`);
  }
  if (Number.isFinite(metrics.ttftMs)) parts.push(`first token ${Math.round(metrics.ttftMs)} ms`);
  if (Number.isFinite(metrics.prompt_eval_count)) parts.push(`prompt ${metrics.prompt_eval_count} tokens`);
  if (metrics.load_duration > 5e7) parts.push(`load ${(metrics.load_duration / 1e9).toFixed(2)} s`);
  if (metrics.total_duration > 0) parts.push(`total ${(metrics.total_duration / 1e9).toFixed(2)} s`);
  if (metrics.stopped) parts.push("stopped");
  else if (metrics.done_reason) parts.push(metrics.done_reason === "length" ? "hit max tokens" : metrics.done_reason);
  return parts.join(" · ");
}

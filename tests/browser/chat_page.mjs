// chat_page.mjs — drives the web chat page of `tinyllm serve` in headless
// Chromium (playwright-core) the way a person would: the page picks a chat
// model (never the embedding model, listed apart) and shows the server's
// default settings, chat with streamed replies and metrics, change settings
// (only changed ones are sent), swap models, unload from the loaded-models
// panel, stop a long reply, retry, edit, conversations, the error line, the
// API-key prompt, an older server without /props, the layout (nothing
// clipped, the chat usable after resizing narrow and wide, no favicon 404),
// and the Models tab (the models with size and quantization, pull with a
// progress bar that reaches 100%, choose for chat, delete after confirming),
// and with DOCS=1 (serve --db) the Documents tab (search, results with
// path:lines, score and snippet, a result opens its chunk) and "answer from
// my documents" (the numbered sources under the answer open their chunks);
// without DOCS the tab and the toggle stay hidden.
// Screenshots after each stage go to $ARTIFACTS. Not part of the default test
// run: scripts/test-browser.sh starts a server with chat models a and b and
// the embedding model 0-minilm, and runs this with
//   BASE_URL=http://127.0.0.1:PORT  CHROMIUM=/usr/bin/chromium  ARTIFACTS=DIR
//   EMBED_MODEL=0-minilm (the embedding model's file name, sorting first)
//   A_NUM_PREDICT=200 (model a's own num_predict, from a.json beside it)
// Prints one "ok"/"not ok" line per check and "N passed, N failed" at the end.

import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

// CommonJS require honours NODE_PATH (ES imports do not), so playwright-core
// may live in a temporary npm prefix.
const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const BASE_URL = process.env.BASE_URL || process.argv[2];
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = process.env.ARTIFACTS || "build/browser-artifacts";
const REPLY_TIMEOUT_MS = Number(process.env.REPLY_TIMEOUT_MS || 60000);
const EMBED_MODEL = process.env.EMBED_MODEL || "0-minilm";
const A_NUM_PREDICT = Number(process.env.A_NUM_PREDICT || 200);
// A repository of the mock Hub the server pulls from (serve --allow-pull
// --hub-endpoint): the Models tab stage pulls it; unset = that stage is skipped.
const PULL_MODEL = process.env.PULL_MODEL || "";
// Set when the server has a search database (serve --db) of cats.txt,
// rockets.md and bread.txt: the Documents stage runs; else the tab must hide.
const DOCS = process.env.DOCS === "1";
// The settings fields with a server default: form field -> /props params name.
const DEFAULT_FIELDS = {
  temperature: "temperature", top_p: "top_p", top_k: "top_k", min_p: "min_p",
  repeat_penalty: "repeat_penalty", num_predict: "n_predict",
};
if (!BASE_URL) {
  console.error("usage: BASE_URL=http://127.0.0.1:PORT node tests/browser/chat_page.mjs");
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

let passed = 0;
let failed = 0;
let shot = 0;

function check(condition, what, detail = "") {
  if (condition) {
    passed += 1;
    console.log(`ok - ${what}`);
  } else {
    failed += 1;
    console.log(`not ok - ${what}${detail ? `: ${detail}` : ""}`);
  }
}

async function screenshot(page, name) {
  shot += 1;
  const file = join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  console.log(`# screenshot ${file}`);
}

const assistants = (page) => page.locator('[data-testid=message][data-role=assistant]');
const users = (page) => page.locator('[data-testid=message][data-role=user]');

// The value of the model picker's option for a model file named `stem`
// ("a" → "a" or "a:latest").
async function modelOption(page, stem) {
  const values = await page.locator("#model-select option").evaluateAll((options) => options.map((o) => o.value));
  return values.find((v) => v === stem || v === `${stem}:latest` || v.startsWith(`${stem}:`));
}

async function waitIdle(page) {
  await page.locator("#send").waitFor({ state: "visible", timeout: REPLY_TIMEOUT_MS });
}

// Types a message, sends it with Enter and waits until the reply is complete.
async function sendAndWait(page, text) {
  const before = await assistants(page).count();
  await page.locator("#prompt").fill(text);
  await page.locator("#prompt").press("Enter");
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=message][data-role=assistant]').length > n,
    before, { timeout: REPLY_TIMEOUT_MS });
  await waitIdle(page);
  const reply = assistants(page).last();
  return {
    text: (await reply.locator("[data-testid=message-content]").textContent()) || "",
    metrics: (await reply.locator("[data-testid=metrics]").textContent()) || "",
    meta: (await reply.locator(".message-meta").textContent()) || "",
  };
}

// Waits until the picker lists the three models and the settings show the
// chosen model's defaults (or that /props gave none).
async function waitForPage(page) {
  await page.waitForFunction(() => document.querySelectorAll("#model-select option[value]:not([value=''])").length >= 3
    && document.getElementById("settings-form").dataset.defaultsFor === document.getElementById("model-select").value,
  null, { timeout: 15000 });
}

// The server's defaults for `model` (GET /props?model=), the settings fields
// (value, placeholder) and the names of those whose placeholder is not the
// server's default.
async function shownDefaults(page, model) {
  const props = await page.evaluate(async (name) => {
    const response = await fetch(`/props?model=${encodeURIComponent(name)}`);
    if (!response.ok) return { status: response.status };
    const body = await response.json();
    return body.default_generation_settings?.params ?? { missing: "default_generation_settings.params" };
  }, model);
  const shown = await page.evaluate((names) => Object.fromEntries(names.map((name) => {
    const field = document.getElementById(`set-${name}`);
    return [name, { value: field.value, placeholder: field.placeholder }];
  })), Object.keys(DEFAULT_FIELDS));
  const wrong = Object.entries(DEFAULT_FIELDS).filter(([field, param]) => !(typeof props[param] === "number"
    && Math.abs(parseFloat(shown[field].placeholder) - props[param]) < 1e-6))
    .map(([field]) => field);
  return { props, shown, wrong };
}

async function errorLine(page) {
  const line = page.locator("#error-line");
  return (await line.isVisible()) ? (await line.textContent()) || "" : "";
}

// Whether the element's centre is in the viewport and the element itself is
// what a click there reaches (nothing covers it).
function uncovered(page, selector) {
  return page.evaluate((sel) => {
    const element = document.querySelector(sel);
    const r = element.getBoundingClientRect();
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    if (r.width === 0 || x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
    return element.contains(document.elementFromPoint(x, y));
  }, selector);
}

// Resizes the window and waits until the page has switched to (or from) its
// narrow layout.
async function resize(page, width) {
  await page.setViewportSize({ width, height: 800 });
  await page.waitForFunction((narrow) => document.getElementById("app").classList.contains("narrow") === narrow,
    width <= 900, { timeout: 5000 });
}

// What is clipped or wrapped: an option of the BOS or template select wider
// than the select's text box, or a top-bar button on more than one line or
// overflowing. `selects`: check the selects (the settings panel must show).
function clippedControls(page, { selects = true } = {}) {
  return page.evaluate((checkSelects) => {
    const problems = [];
    const probe = document.createElement("span");
    probe.style.cssText = "position: absolute; visibility: hidden; white-space: pre;";
    document.body.append(probe);
    for (const id of checkSelects ? ["set-bos", "set-template"] : []) {
      const select = document.getElementById(id);
      const style = getComputedStyle(select);
      probe.style.font = style.font;
      const ARROW = 20; // the drop-down arrow's share of the box
      const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - ARROW;
      for (const option of select.options) {
        probe.textContent = option.text;
        const width = probe.getBoundingClientRect().width;
        if (width > room) problems.push(`${id} cuts "${option.text}" (${width.toFixed(0)} > ${room.toFixed(0)} px)`);
      }
    }
    probe.remove();
    const topbar = document.querySelector(".topbar");
    if (topbar.scrollWidth > topbar.clientWidth) problems.push(`the top bar overflows (${topbar.scrollWidth} > ${topbar.clientWidth} px)`);
    for (const button of topbar.querySelectorAll(".button")) {
      const style = getComputedStyle(button);
      const textHeight = button.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
      const r = button.getBoundingClientRect();
      const name = button.innerText.trim();
      if (textHeight > 1.5 * parseFloat(style.lineHeight)) problems.push(`"${name}" wraps (${r.height} px high)`);
      if (button.scrollWidth > button.clientWidth) problems.push(`"${name}" overflows`);
      if (r.left < 0 || r.right > Math.min(innerWidth, topbar.getBoundingClientRect().right) + 0.5) {
        problems.push(`"${name}" sticks out of the top bar`);
      }
    }
    return problems;
  }, selects);
}

async function run() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  // Every 404 the page gets (a missing /favicon.ico, ...), outside the stage
  // that fakes an older server.
  const notFound = [];
  let expectNotFound = false;
  page.on("response", (response) => {
    if (response.status() === 404 && !expectNotFound) notFound.push(response.url());
  });
  const chatBodies = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/api/chat") && request.method() === "POST") {
      try { chatBodies.push(JSON.parse(request.postData() || "{}")); } catch { chatBodies.push({}); }
    }
  });

  try {
    // 1. Load the page: the model picker fills from /api/tags. The embedding
    // model sorts first, but the page chooses the first chat model and lists
    // the embedding model apart, not to be chosen.
    await page.goto(BASE_URL, { waitUntil: "load" });
    await waitForPage(page);
    const modelA = await modelOption(page, "a");
    const modelB = await modelOption(page, "b");
    const modelE = await modelOption(page, EMBED_MODEL);
    check(modelA && modelB, "model picker lists models a and b", `${modelA} ${modelB}`);
    check(modelE && modelE < modelA, "the picker lists the embedding model, whose name sorts first", String(modelE));
    check(await page.inputValue("#model-select") === modelA, "the page chooses the first chat model, not the embedding model",
      await page.inputValue("#model-select"));
    const embedOption = await page.locator("#model-select option").evaluateAll((options, name) => {
      const option = options.find((o) => o.value === name);
      const group = option && option.parentElement.tagName === "OPTGROUP" ? option.parentElement.label : "";
      return option && { group, disabled: option.matches(":disabled") };
    }, modelE);
    check(embedOption && /^Embedding models/.test(embedOption.group) && embedOption.disabled,
      "the embedding model is listed apart (group \"Embedding models\") and cannot be chosen", JSON.stringify(embedOption));
    // A last-used model that is an embedding model (an older page chose it) is not taken.
    await page.evaluate((name) => localStorage.setItem("tinyllm.model", name), modelE);
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);
    check(await page.inputValue("#model-select") === modelA, "a remembered embedding model is not chosen for chat",
      await page.inputValue("#model-select"));

    // The settings start empty, showing the server's defaults (GET /props) greyed.
    // Model a has its own max tokens (a.json beside it: {"options": {"num_predict": A_NUM_PREDICT}}).
    const { props, shown, wrong } = await shownDefaults(page, modelA);
    check(wrong.length === 0 && Object.values(shown).every((field) => field.value === ""),
      "the settings show the server's defaults (GET /props?model=) as empty fields' placeholders",
      JSON.stringify({ wrong, shown, props }));
    check(props.repeat_penalty === 1 && parseFloat(shown.repeat_penalty.placeholder) === 1,
      "the repeat-penalty default is 1.0 (off), as in the CLI", JSON.stringify({ props: props.repeat_penalty, shown: shown.repeat_penalty }));
    check(props.n_predict === A_NUM_PREDICT && parseFloat(shown.num_predict.placeholder) === A_NUM_PREDICT,
      `model a's own default shows (max tokens ${A_NUM_PREDICT}, from a.json)`, JSON.stringify(shown.num_predict));
    await screenshot(page, "loaded");

    // 2. The first message, settings untouched, goes to model a and is answered
    // with a streamed reply and metrics; the request leaves the defaults out.
    const first = await sendAndWait(page, "Hello! Tell me a story.");
    check(first.text.trim().length > 0, "model a streams a non-empty reply", JSON.stringify(first.text.slice(0, 80)));
    check(/tokens\/s/.test(first.metrics) && /ms\/token/.test(first.metrics), "metrics show tokens/s and ms/token", first.metrics);
    check(/first token \d+ ms/.test(first.metrics), "metrics show the time to first token", first.metrics);
    check(/prompt \d+ tokens/.test(first.metrics), "metrics show the prompt tokens", first.metrics);
    check(first.meta.startsWith("a"), "the reply is labelled with model a", first.meta);
    check(chatBodies.at(-1)?.model === modelA && chatBodies.at(-1)?.stream === true, "the request goes to model a, streamed");
    const sentDefaults = Object.keys(chatBodies.at(-1)?.options || {}).filter((name) => name in DEFAULT_FIELDS);
    check(sentDefaults.length === 0, "unchanged settings are left out of the request", JSON.stringify(chatBodies.at(-1)?.options));
    check((await errorLine(page)) === "", "no error line after a good reply", await errorLine(page));
    await screenshot(page, "first-reply");

    // 3. Settings: temperature 0, max tokens 16, template and BOS; persisted.
    await page.fill("#set-temperature", "0");
    await page.fill("#set-num_predict", "16");
    await page.selectOption("#set-template", "chatml");
    await page.selectOption("#set-bos", "true");
    await page.fill("#set-system", "You are terse.");
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);
    check(await page.inputValue("#set-temperature") === "0" && await page.inputValue("#set-num_predict") === "16",
      "settings survive a reload (localStorage)");
    check(await users(page).count() === 1 && await assistants(page).count() === 1,
      "the conversation survives a reload (localStorage)");
    check(await page.inputValue("#model-select") === modelA, "the chosen model survives a reload");
    const second = await sendAndWait(page, "Again, shorter.");
    const sent = chatBodies.at(-1) || {};
    check(sent.options?.temperature === 0 && sent.options?.num_predict === 16,
      "the request carries temperature 0 and num_predict 16", JSON.stringify(sent.options));
    check(["top_p", "top_k", "min_p", "repeat_penalty"].every((name) => !(name in (sent.options || {}))),
      "the settings not changed are still left out", JSON.stringify(sent.options));
    check(sent.template === "chatml" && sent.options?.add_bos === true, "the request carries the template and add_bos",
      JSON.stringify({ template: sent.template, add_bos: sent.options?.add_bos }));
    check(sent.messages?.[0]?.role === "system" && sent.messages?.length === 4,
      "the request has the system prompt and the whole history", JSON.stringify(sent.messages?.map((m) => m.role)));
    const evalCount = Number((/(\d+) tokens ·/.exec(second.metrics) || [])[1]);
    check(second.text.trim().length > 0 && evalCount > 0 && evalCount <= 16, "the second reply has at most 16 tokens",
      second.metrics);
    await screenshot(page, "settings-second-reply");

    // 4. Swap to model b: the next message goes to it.
    await page.selectOption("#model-select", modelB);
    await page.waitForFunction((name) => document.getElementById("settings-form").dataset.defaultsFor === name, modelB);
    const defaultsB = await shownDefaults(page, modelB);
    check(defaultsB.wrong.length === 0 && defaultsB.props.n_predict !== A_NUM_PREDICT,
      "after the swap the settings show model b's defaults", JSON.stringify(defaultsB));
    const third = await sendAndWait(page, "Now you, model b.");
    check(chatBodies.at(-1)?.model === modelB, "after the swap the request goes to model b");
    // A tiny random model may answer with white space only: count its tokens.
    const thirdTokens = Number((/(\d+) tokens ·/.exec(third.metrics) || [])[1]);
    check(third.meta.startsWith("b") && thirdTokens > 0, "model b answers", `${third.meta}: ${third.metrics}`);
    await screenshot(page, "model-b-reply");

    // 5. The loaded-models panel shows b; unload it.
    const loadedB = page.locator(`[data-testid=loaded-model][data-model="${modelB}"]`);
    await loadedB.waitFor({ state: "visible", timeout: 10000 });
    check(await loadedB.isVisible(), "the loaded-models panel lists model b");
    check(/unloads/.test((await loadedB.textContent()) || ""), "the panel shows when b unloads");
    await screenshot(page, "models-panel");
    await loadedB.locator("[data-testid=unload]").click();
    await loadedB.waitFor({ state: "detached", timeout: 10000 }).catch(() => {});
    check(await loadedB.count() === 0, "Unload removes model b from the panel");
    check(chatBodies.some((b) => b.model === modelB && b.keep_alive === 0 && b.messages?.length === 0),
      "Unload sends keep_alive 0 with no messages");
    await screenshot(page, "unloaded-b");
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);
    check(await page.inputValue("#model-select") === modelB, "after a reload the last used model (b) is chosen",
      await page.inputValue("#model-select"));

    // 6. Stop a long reply: the partial text stays.
    await page.fill("#set-num_predict", "-1");
    await page.selectOption("#model-select", modelA);
    const beforeStop = await assistants(page).count();
    await page.locator("#prompt").fill("Write a very long story.");
    await page.locator("#prompt").press("Enter");
    await page.waitForFunction((n) => {
      const replies = document.querySelectorAll('[data-testid=message][data-role=assistant]');
      return replies.length > n && replies[replies.length - 1].querySelector("[data-testid=message-content]").textContent.length > 0;
    }, beforeStop, { timeout: REPLY_TIMEOUT_MS });
    const stopVisible = await page.locator("#stop").isVisible();
    check(stopVisible, "the Stop button shows while a reply streams");
    await screenshot(page, "streaming");
    if (stopVisible) await page.locator("#stop").click();
    await waitIdle(page);
    const stopped = assistants(page).last();
    const stoppedMetrics = (await stopped.locator("[data-testid=metrics]").textContent()) || "";
    const stoppedText = (await stopped.locator("[data-testid=message-content]").textContent()) || "";
    check(/stopped/.test(stoppedMetrics), "a stopped reply is marked stopped", stoppedMetrics);
    check(stoppedText.length > 0, "the partial reply is kept after Stop");
    check((await errorLine(page)) === "", "Stop shows no error");
    await screenshot(page, "stopped");

    // 7. Retry regenerates the last reply; Edit truncates and resends.
    await page.fill("#set-num_predict", "12");
    const countBeforeRetry = await page.locator("[data-testid=message]").count();
    await assistants(page).last().locator("[data-testid=retry]").click();
    await page.waitForTimeout(50);
    await waitIdle(page);
    check(await page.locator("[data-testid=message]").count() === countBeforeRetry,
      "Retry replaces the last reply (same number of messages)");
    check(!/stopped/.test((await assistants(page).last().locator("[data-testid=metrics]").textContent()) || ""),
      "the retried reply is a new, complete one");
    await users(page).first().locator("[data-testid=edit]").click();
    await page.locator("[data-testid=edit-box]").fill("Edited first question");
    await page.locator("[data-testid=edit-save]").click();
    await page.waitForTimeout(50);
    await waitIdle(page);
    check(await users(page).count() === 1 && await assistants(page).count() === 1,
      "Edit keeps the conversation up to the edited message and answers it again");
    check(((await users(page).first().textContent()) || "").includes("Edited first question"), "the edited text is shown");
    check(chatBodies.at(-1)?.messages?.filter((m) => m.role !== "system").length === 1, "the resend carries only the edited message");
    await screenshot(page, "edited");

    // 8. Conversations: titled by the first message; new chat; delete.
    const titles = await page.locator("[data-testid=conversation]").allTextContents();
    check(titles.length === 1 && titles[0].includes("Edited first question"), "the conversation is named after its first message",
      JSON.stringify(titles));
    await page.click("#new-chat");
    check(await page.locator("[data-testid=message]").count() === 0, "New chat opens an empty conversation");
    await sendAndWait(page, "A second conversation");
    check(await page.locator("[data-testid=conversation]").count() === 2, "the sidebar lists two conversations");
    await page.locator("[data-testid=conversation]", { hasText: "Edited first question" }).locator(".conversation-open").click();
    check(((await users(page).first().textContent()) || "").includes("Edited first question"), "switching back shows the first conversation");
    await screenshot(page, "conversations");
    await page.locator("[data-testid=conversation]", { hasText: "A second conversation" }).locator("[data-testid=delete-conversation]").click();
    check(await page.locator("[data-testid=conversation]").count() === 1, "Delete removes a conversation");

    // 9. HTTP errors show the JSON "error" text (the server's answer is faked here).
    await page.route("**/api/chat", (route) => route.fulfill({
      status: 500, contentType: "application/json", body: JSON.stringify({ error: "out of memory (test)" }),
    }), { times: 1 });
    const messagesBefore = await page.locator("[data-testid=message]").count();
    await page.locator("#prompt").fill("This one fails");
    await page.locator("#prompt").press("Enter");
    await page.locator("#error-line").waitFor({ state: "visible", timeout: 10000 });
    const errorText = await errorLine(page);
    check(errorText.includes("out of memory (test)"), "an HTTP error shows the JSON error text", errorText);
    check(await page.locator("[data-testid=message]").count() === messagesBefore + 1,
      "a failed request leaves the user message (to retry) and no empty reply");
    await screenshot(page, "error-line");

    // 10. A 401 asks for the API key, then the request is sent with it.
    let authHeader = null;
    // Playwright tries the newest route first: the one-time 401, then this.
    await page.route("**/api/chat", async (route) => {
      authHeader = route.request().headers().authorization || null;
      await route.continue();
    });
    await page.route("**/api/chat", (route) => route.fulfill({
      status: 401, contentType: "application/json", body: JSON.stringify({ error: "missing API key" }),
    }), { times: 1 });
    await users(page).last().locator("[data-testid=retry]").click();
    await page.locator("#key-dialog").waitFor({ state: "visible", timeout: 10000 });
    await screenshot(page, "api-key-dialog");
    await page.fill("#key-input", "secret-test-key");
    await page.click("#key-submit");
    await waitIdle(page);
    check(authHeader === "Bearer secret-test-key", "after a 401 the request is sent again with the key", String(authHeader));
    check(await page.evaluate(() => localStorage.getItem("tinyllm.apiKey")) === "secret-test-key",
      "the key is kept in localStorage");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.evaluate(() => localStorage.removeItem("tinyllm.apiKey"));

    // 11. Model output is text, never HTML (a faked reply with markup and a
    // code fence); Shift+Enter is a newline.
    const hostile = ["<img src=x onerror=\"window.__pwned=1\">", " <b>bold?</b>\n", "```js\n",
      "let x = '<script>window.__pwned=2</script>';\n", "```\n", "after the code"];
    const ndjson = hostile.map((piece) => JSON.stringify({
      model: modelA, created_at: new Date().toISOString(), message: { role: "assistant", content: piece }, done: false,
    })).join("\n") + "\n" + JSON.stringify({
      model: modelA, created_at: new Date().toISOString(), message: { role: "assistant", content: "" }, done: true,
      done_reason: "stop", total_duration: 5e6, load_duration: 0, prompt_eval_count: 3, prompt_eval_duration: 1e6,
      eval_count: hostile.length, eval_duration: 4e6, draft_n: 8, draft_n_accepted: 6,
    }) + "\n";
    await page.route("**/api/chat", (route) => route.fulfill({
      status: 200, contentType: "application/x-ndjson", body: ndjson,
    }), { times: 1 });
    const fake = await sendAndWait(page, "Show me some code");
    const lastReply = assistants(page).last();
    check(await lastReply.locator("img, b, script").count() === 0 && !(await page.evaluate(() => window.__pwned)),
      "markup in model output is shown as text", fake.text.slice(0, 60));
    check(fake.text.includes("<img src=x") && fake.text.includes("<b>bold?</b>"), "the markup is visible as text");
    check(((await lastReply.locator("pre.code code").textContent()) || "").includes("<script>"),
      "a ``` fence becomes a code block");
    check(/1500\.0 tokens\/s/.test(fake.metrics), "tokens/s comes from the final chunk (eval_count / eval_duration)", fake.metrics);
    check(/drafted 8, accepted 6 \(75%\)/.test(fake.metrics), "speculative decoding's counts are shown", fake.metrics);
    await screenshot(page, "code-block");

    await page.locator("#prompt").fill("line one");
    await page.locator("#prompt").press("Shift+Enter");
    await page.locator("#prompt").pressSequentially("line two");
    check(await page.inputValue("#prompt") === "line one\nline two", "Shift+Enter adds a newline instead of sending");
    await page.locator("#prompt").fill("");
    check(await page.locator("[data-testid=message-content] b, [data-testid=message-content] script").count() === 0,
      "no HTML elements come from model text");
    check(pageErrors.length === 0, "no JavaScript errors on the page", pageErrors.join(" | "));
    await screenshot(page, "final");

    // 12. An older server without /props and /api/show capabilities: the
    // fields say "server default", every model is listed for chat.
    expectNotFound = true;
    const gone = (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error":"not found"}' });
    await page.route("**/props*", gone);
    await page.route("**/api/show", gone);
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);
    check(await page.getAttribute("#set-repeat_penalty", "placeholder") === "server default"
      && await page.inputValue("#set-repeat_penalty") === "", "without /props the fields fall back to \"server default\"");
    check(await page.locator("#model-select optgroup").count() === 0
      && await page.locator(`#model-select option[value="${modelE}"]:not(:disabled)`).count() === 1,
    "without capabilities every model is listed for chat");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    expectNotFound = false;
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);

    // Settings saved by the older page (every field, its defaults included):
    // its defaults give way to the server's, what the user chose stays.
    const savedSettings = await page.evaluate(() => localStorage.getItem("tinyllm.settings.v2"));
    await page.evaluate(() => {
      localStorage.removeItem("tinyllm.settings.v2");
      localStorage.setItem("tinyllm.settings", JSON.stringify({
        system: "", temperature: 0.8, top_p: 0.95, top_k: 20, min_p: 0.05, repeat_penalty: 1.1, num_predict: 256,
        seed: "", bos: "", template: "", keep_alive: "",
      }));
    });
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);
    const migrated = await page.evaluate(() => ["temperature", "top_k", "repeat_penalty", "num_predict"]
      .map((name) => document.getElementById(`set-${name}`).value).join(","));
    check(migrated === ",20,,", "the older page's saved defaults (repeat penalty 1.1) give way to the server's; a chosen top-k stays",
      migrated);
    await page.evaluate((saved) => {
      localStorage.removeItem("tinyllm.settings");
      localStorage.setItem("tinyllm.settings.v2", saved);
    }, savedSettings);
    await page.reload({ waitUntil: "load" });
    await waitForPage(page);

    // 13. Layout: the BOS and template selects and the top-bar buttons are not
    // clipped or wrapped, wide, medium or narrow (with the settings overlay open).
    for (const width of [1400, 960, 901, 420]) {
      await resize(page, width);
      // The top bar first: on narrow screens the settings overlay covers it.
      const problems = await clippedControls(page, { selects: width > 900 });
      if (width <= 900) {
        await page.click("#toggle-panel");
        await page.locator("#set-bos").waitFor({ state: "visible" });
        problems.push(...await clippedControls(page));
      }
      check(problems.length === 0, `nothing clipped or wrapped at ${width} px`, problems.join("; "));
      await screenshot(page, `layout-${width}`);
      if (width <= 900) {
        check(!(await uncovered(page, "#prompt")), `at ${width} px the settings open as an overlay over the chat`);
        await page.mouse.click(10, 400); // the backdrop, left of the overlay
        check(!(await page.locator("#panel").isVisible()), "a click beside the overlay closes it");
      }
    }

    // Narrow, wide, narrow: the chat input is never covered.
    await resize(page, 1400);
    check(await page.locator("#panel").isVisible() && await page.locator("#sidebar").isVisible(),
      "wide: both side columns show");
    await resize(page, 420);
    check(await uncovered(page, "#prompt") && await uncovered(page, "#send"), "narrow: the chat input is not covered");
    await page.click("#toggle-panel");
    check(await page.locator("#panel").isVisible(), "narrow: the settings open");
    await resize(page, 1400);
    check(await uncovered(page, "#prompt") && await page.locator("#panel").isVisible(),
      "wide again: the chat input is not covered, the settings column shows");
    await resize(page, 420);
    check(await uncovered(page, "#prompt") && !(await page.locator("#panel").isVisible())
      && !(await page.locator("#sidebar").isVisible()), "narrow again: the side panels are closed, the chat input not covered");
    await screenshot(page, "narrow-again");
    await page.click("#toggle-sidebar");
    check(await page.locator("#sidebar").isVisible(), "narrow: the conversations open");
    await page.locator("[data-testid=conversation] .conversation-open").first().click();
    check(!(await page.locator("#sidebar").isVisible()) && await uncovered(page, "#prompt"),
      "choosing a conversation closes the overlay");
    await resize(page, 1400);

    // The icon is inline or served: no /favicon.ico 404.
    const icon = await page.evaluate(async () => {
      const link = document.querySelector("link[rel~=icon]");
      if (!link) return null;
      const response = await fetch(link.href).catch(() => null);
      return { href: link.getAttribute("href").slice(0, 40), ok: Boolean(response && response.ok) };
    });
    check(icon && icon.ok, "the page names an icon that loads", JSON.stringify(icon));
    check(notFound.length === 0, "no request of the page is answered 404 (favicon included)", notFound.join(" "));
    check(pageErrors.length === 0, "no JavaScript errors on the page (layout stages)", pageErrors.join(" | "));

    // 15. The Models tab: the server's models; pull PULL_MODEL from the mock
    // Hub (the bar moves and reaches 100%, the model appears in the tab and the
    // picker), choose it for chat, delete it (cancel the confirmation first).
    if (PULL_MODEL) {
      const pulled = `${PULL_MODEL}:latest`;
      const item = `[data-testid=store-model][data-model="${pulled}"]`;
      await page.click("[data-testid=tab-models]");
      check(await page.locator("#models-tab").isVisible() && !(await page.locator("#settings-tab").isVisible()),
        "the Models tab shows, the settings hide");
      await page.locator("[data-testid=store-model]").first().waitFor({ timeout: 15000 });
      const listed = await page.locator("[data-testid=store-model]").evaluateAll((items) => items.map((i) => i.dataset.model));
      check(listed.includes(modelA) && listed.includes(modelB), "the Models tab lists the server's models", listed.join(" "));
      const infoA = await page.locator(`[data-testid=store-model][data-model="${modelA}"] [data-testid=store-model-info]`)
        .textContent();
      check(/Q8_0/.test(infoA) && /\d (KB|MB)/.test(infoA) && /\d{4}|\d\/\d/.test(infoA),
        "a model shows its size, quantization and modification time", infoA);
      await page.evaluate(() => {
        window.barValues = [];
        const bar = document.getElementById("pull-progress");
        new MutationObserver(() => window.barValues.push(bar.value)).observe(bar, { attributes: true });
      });
      await page.fill("[data-testid=pull-name]", PULL_MODEL);
      await page.click("[data-testid=pull-button]");
      await page.waitForFunction(() => /success|failed/.test(document.getElementById("pull-status").textContent),
        null, { timeout: REPLY_TIMEOUT_MS });
      const values = await page.evaluate(() => window.barValues);
      const status = await page.locator("[data-testid=pull-status]").textContent();
      check(/success/.test(status) && await page.locator("#pull-progress").evaluate((b) => b.value) === 100,
        "the pull succeeds and the progress bar reaches 100%", `${status} ${values.join(",")}`);
      check(values.some((v) => v > 0 && v < 100), "the bar moved through values between 0 and 100", values.join(","));
      await screenshot(page, "models-pulled");
      check(await page.locator(item).count() === 1, "the pulled model appears in the Models tab");
      check(await modelOption(page, PULL_MODEL) === pulled, "the pulled model appears in the model picker");
      await page.click(`${item} [data-testid=use-model]`);
      check(await page.inputValue("#model-select") === pulled, "Chat chooses the pulled model in the picker");
      await page.click("[data-testid=tab-settings]");
      await page.locator("#prompt").fill("Once upon a time");
      await page.locator("#prompt").press("Enter");
      await waitIdle(page);
      check(chatBodies.at(-1)?.model === pulled, "the next message goes to the pulled model", chatBodies.at(-1)?.model);
      await page.click("[data-testid=tab-models]");
      page.once("dialog", (dialog) => dialog.dismiss());
      await page.click(`${item} [data-testid=delete-model]`);
      check(await page.locator(item).count() === 1, "dismissing the confirmation keeps the model");
      page.once("dialog", (dialog) => dialog.accept());
      await page.click(`${item} [data-testid=delete-model]`);
      await page.waitForFunction((selector) => !document.querySelector(selector), item, { timeout: 15000 })
        .catch(() => {});
      check(await page.locator(item).count() === 0, "after confirming, the model is deleted from the Models tab");
      check(await modelOption(page, PULL_MODEL) === undefined, "and from the model picker");
      await screenshot(page, "models-deleted");
      await page.click("[data-testid=tab-settings]");
    }

    // 16. Documents (serve --db): the tab searches and opens a result's chunk;
    // "answer from my documents" sends "documents" and lists the numbered
    // sources under the answer, each opening its chunk. Without --db the tab
    // and the toggle are hidden.
    if (DOCS) {
      await page.locator("[data-testid=tab-documents]").waitFor({ state: "visible", timeout: 15000 });
      await page.click("[data-testid=tab-documents]");
      check(await page.locator("#documents-tab").isVisible() && !(await page.locator("#settings-tab").isVisible()),
        "the Documents tab shows, the settings hide");
      await page.waitForFunction(() => /3 chunks/.test(document.getElementById("docs-info").textContent), null,
        { timeout: 15000 }).catch(() => {});
      const info = await page.locator("[data-testid=docs-info]").textContent();
      check(/docs\.db/.test(info) && /3 files, 3 chunks/.test(info), "the tab names the database and its counts", info);
      await page.fill("[data-testid=docs-query]", "rocket thrust");
      await page.selectOption("[data-testid=docs-mode]", "text");
      const searched = page.waitForResponse((r) => r.url().endsWith("/api/search"));
      await page.click("[data-testid=docs-search]");
      const searchBody = JSON.parse((await searched).request().postData() || "{}");
      check(searchBody.mode === "text" && searchBody.query === "rocket thrust", "the search sends the query and mode",
        JSON.stringify(searchBody));
      await page.locator("[data-testid=doc-result]").first().waitFor({ timeout: 15000 });
      const hits = await page.locator("[data-testid=doc-result]").evaluateAll((items) => items.map((i) => ({
        path: i.querySelector("[data-testid=doc-path]").textContent,
        score: i.querySelector("[data-testid=doc-score]").textContent,
        snippet: i.querySelector("[data-testid=doc-snippet]").textContent,
      })));
      check(hits.length === 1 && /rockets\.md:1-3$/.test(hits[0].path) && /^-?\d+\.\d{4}$/.test(hits[0].score)
        && /rocket engine burns fuel/.test(hits[0].snippet), "a text search finds rockets.md with path:lines, score and snippet",
        JSON.stringify(hits));
      await page.selectOption("[data-testid=docs-mode]", "hybrid");
      await page.fill("[data-testid=docs-query]", "furry cats");
      await page.click("[data-testid=docs-search]");
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=doc-result]").length === 3, null,
        { timeout: 15000 }).catch(() => {});
      check(await page.locator("[data-testid=doc-result]").count() === 3, "a hybrid search lists every chunk");
      await screenshot(page, "documents-search");
      await page.locator("[data-testid=doc-open]").first().click();
      const chunk = await page.locator("[data-testid=chunk-text]").textContent();
      check(await page.locator("#chunk-dialog").isVisible() && /Cats are small furry animals that purr\.\n\nThey like/.test(chunk),
        "clicking a result opens its whole chunk", JSON.stringify(chunk));
      await screenshot(page, "documents-chunk");
      await page.click("[data-testid=chunk-close]");
      check(!(await page.locator("#chunk-dialog").isVisible()), "the chunk closes");

      check(await page.locator("[data-testid=use-documents]").isVisible(), "the chat offers \"answer from my documents\"");
      await page.check("[data-testid=use-documents]");
      const answer = await sendAndWait(page, "Which animals purr?");
      const body = chatBodies.at(-1) || {};
      check(body.documents && body.documents.k === 4, "the chat request asks for documents", JSON.stringify(body.documents));
      // (The random-weight model's reply may be blank: the final message's metrics show it completed.)
      check(/prompt \d+ tokens/.test(answer.metrics), "the answer from documents completes", answer.metrics);
      const sources = await assistants(page).last().locator("[data-testid=source]").allTextContents();
      check(sources.length === 3 && sources.every((s, i) => s.startsWith(`[${i + 1}] `) && /:\d+(-\d+)?$/.test(s))
        && sources.some((s) => /cats\.txt:1-3$/.test(s)), "the numbered sources are listed under the answer", sources.join(" | "));
      const cats = assistants(page).last().locator("[data-testid=source]", { hasText: "cats.txt" });
      await cats.click();
      check(/^\[\d\] .*cats\.txt:1-3$/.test(await page.locator("[data-testid=chunk-title]").textContent())
        && /purr/.test(await page.locator("[data-testid=chunk-text]").textContent()), "a source opens its chunk");
      await screenshot(page, "documents-answer");
      await page.click("[data-testid=chunk-close]");
      await page.uncheck("[data-testid=use-documents]");
      await sendAndWait(page, "And without documents?");
      check(!("documents" in (chatBodies.at(-1) || {})), "with the toggle off, no documents are asked for");
      check(await assistants(page).last().locator("[data-testid=source]").count() === 0, "and no sources are listed");
      await page.click("[data-testid=tab-settings]");
    } else {
      check(!(await page.locator("[data-testid=tab-documents]").isVisible())
        && !(await page.locator("[data-testid=use-documents-box]").isVisible()),
        "without --db the Documents tab and the documents toggle are hidden");
    }
    check(pageErrors.length === 0, "no JavaScript errors on the page (documents stage)", pageErrors.join(" | "));

    // 14. Dark colour scheme and a narrow screen (for the eye: screenshots only).
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "dark");
    await page.setViewportSize({ width: 420, height: 800 });
    await page.reload({ waitUntil: "load" });
    await page.locator("#prompt").waitFor({ state: "visible" });
    check(await page.locator("#prompt").isVisible() && !(await page.locator("#panel").isVisible()),
      "on a narrow screen the chat shows and the side panels fold away");
    await screenshot(page, "narrow-dark");
  } catch (error) {
    check(false, "the test ran to the end", error.stack || String(error));
    await screenshot(page, "failure").catch(() => {});
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

run();

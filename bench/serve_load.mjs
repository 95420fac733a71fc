// bench/serve_load.mjs — load on a running `tinyllm serve`: C concurrent clients stream chat completions
// (OpenAI API, SSE) for D seconds, each starting a new request as soon as the last ends. Prints one JSON object:
// requests done and failed (with the first errors), generated tokens (from the usage chunk), aggregate generated
// tokens/s, per-request time to first token and tokens/s medians, and — given the server's pid — its resident
// memory sampled every second (first, max, last) to show whether it stays flat. Node 20, no npm packages.
//
//   node bench/serve_load.mjs --url http://127.0.0.1:8080 --model NAME [--clients 32] [--seconds 60]
//        [--max-tokens 128] [--pid PID]
import { readFileSync } from "node:fs";

const args = { url: "http://127.0.0.1:8080", model: "", clients: 32, seconds: 60, "max-tokens": 128, pid: 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in args) || i + 1 >= process.argv.length) {
    console.error(`serve_load: unknown or incomplete option ${process.argv[i]}`);
    process.exit(1);
  }
  args[key] = typeof args[key] === "number" ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!args.model) {
  console.error("serve_load: --model NAME is required");
  process.exit(1);
}

const prompts = ["Tell me a story about a dragon.", "What is the capital of France?", "Write a poem about the sea.",
  "Explain how a bicycle works.", "List five fruits.", "Describe a sunny day in the park."];
const deadline = Date.now() + args.seconds * 1000;
const result = { requests: 0, failed: 0, errors: [], tokens: 0, ttft_ms: [], request_tps: [] };

// One streamed chat completion; resolves when it ends.
async function oneRequest(n) {
  const start = performance.now();
  let first = 0;
  const res = await fetch(`${args.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: args.model, stream: true, stream_options: { include_usage: true }, max_tokens: args["max-tokens"],
      temperature: 0.8, seed: n, messages: [{ role: "user", content: prompts[n % prompts.length] }],
    }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const decoder = new TextDecoder();
  let buffer = "", usage = null, done = false;
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") { done = true; continue; }
      const json = JSON.parse(data);
      if (json.error) throw new Error(JSON.stringify(json.error));
      if (!first && json.choices?.[0]?.delta?.content) first = performance.now();
      if (json.usage) usage = json.usage;
    }
  }
  if (!done || !usage) throw new Error("the stream ended without usage and [DONE]");
  const end = performance.now();
  result.tokens += usage.completion_tokens;
  if (first) {
    result.ttft_ms.push(first - start);
    if (usage.completion_tokens > 1) result.request_tps.push((usage.completion_tokens - 1) / ((end - first) / 1000));
  }
}

async function client(id) {
  for (let n = id; Date.now() < deadline; n += args.clients) {
    try {
      await oneRequest(n);
      result.requests++;
    } catch (e) {
      result.failed++;
      if (result.errors.length < 5) result.errors.push(String(e.message || e));
    }
  }
}

// Resident memory of the server (MiB), from /proc.
function rssMiB() {
  try {
    const m = readFileSync(`/proc/${args.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : null;
  } catch { return null; }
}
const memory = [];
const sampler = args.pid ? setInterval(() => { const v = rssMiB(); if (v !== null) memory.push(v); }, 1000) : null;

const median = (xs) => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const began = performance.now();
await Promise.all(Array.from({ length: args.clients }, (_, i) => client(i)));
const seconds = (performance.now() - began) / 1000;
if (sampler) clearInterval(sampler);
console.log(JSON.stringify({
  clients: args.clients, seconds: Number(seconds.toFixed(1)), requests: result.requests, failed: result.failed,
  errors: result.errors, generated_tokens: result.tokens,
  aggregate_tokens_per_second: Number((result.tokens / seconds).toFixed(1)),
  median_ttft_ms: median(result.ttft_ms) && Number(median(result.ttft_ms).toFixed(0)),
  median_request_tokens_per_second: median(result.request_tps) && Number(median(result.request_tps).toFixed(1)),
  rss_mib: memory.length ? { first: memory[0], max: Math.max(...memory), last: memory[memory.length - 1] } : null,
}));
process.exit(result.failed ? 1 : 0);

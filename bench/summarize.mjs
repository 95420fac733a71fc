#!/usr/bin/env node
// summarize.mjs: turns the raw results bench/compare collected into its side-by-side table.
//
//   node bench/summarize.mjs RESULTS.jsonl MEMBW.json
//
// RESULTS.jsonl holds one line per benchmark run: {"engine": "tinyllm" | "llama.cpp", "round": k, "result": {...}},
// where result is the JSON object of `tinyllm bench --json` or bench/llama_bench.mjs (same shape). For each model
// and engine, the samples of all rounds are pooled and their median taken. Decode bandwidth is the bytes of weights
// one generated token reads (llama_bench.mjs computes it from the GGUF header) times tg tokens/s, next to the
// machine's read bandwidth measured by bench/membw.c for the same thread count.
import fs from "node:fs";

const [resultsFile, membwFile] = process.argv.slice(2);
if (!resultsFile) {
    process.stderr.write("usage: node bench/summarize.mjs RESULTS.jsonl [MEMBW.json]\n");
    process.exit(2);
}
const runs = fs.readFileSync(resultsFile, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const membw = membwFile && fs.existsSync(membwFile) ? JSON.parse(fs.readFileSync(membwFile, "utf8")) : null;

function median(values) {
    if (!values.length) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// model file -> engine -> pooled samples and the last result (for type, threads, weights_bytes...)
const models = new Map();
for (const { engine, result } of runs) {
    if (!models.has(result.model)) models.set(result.model, {});
    const entry = models.get(result.model);
    const e = (entry[engine] ??= { pp: [], tg: [], load: [], rss: [], ttft: [], overhead: [], last: null });
    if (result.ttft_ms_128 != null) e.ttft.push(result.ttft_ms_128);
    if (result.pp) e.pp.push(...result.pp.samples);
    if (result.tg) e.tg.push(...result.tg.samples);
    e.load.push(result.load_ms);
    e.rss.push(result.peak_rss_mb);
    if (result.binding_overhead_us != null) e.overhead.push(result.binding_overhead_us);
    e.last = result;
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : "-");
const lines = [];
let firstTiny = null, firstLlama = null;
lines.push("| model | type | pp tinyllm | pp llama.cpp | pp ratio | tg tinyllm | tg llama.cpp | tg ratio | samples |");
lines.push("|---|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [name, entry] of models) {
    const tiny = entry.tinyllm, llama = entry["llama.cpp"];
    firstTiny ??= tiny?.last;
    firstLlama ??= llama?.last;
    const type = tiny?.last.type ?? llama?.last.type;
    const pt = median(tiny?.pp ?? []), pl = median(llama?.pp ?? []);
    const tt = median(tiny?.tg ?? []), tl = median(llama?.tg ?? []);
    lines.push(`| ${name} | ${type} | ${fmt(pt)} | ${fmt(pl)} | ${ratio(pt, pl)} | ${fmt(tt, 2)} | ${fmt(tl, 2)} | ` +
        `${ratio(tt, tl)} | ${tiny?.tg.length ?? tiny?.pp.length ?? 0} / ${llama?.tg.length ?? llama?.pp.length ?? 0} |`);
}
const any = firstTiny ?? firstLlama;
lines.push("");
lines.push(`tokens/s, median of all samples (tinyllm / llama.cpp); ratio = tinyllm / llama.cpp (> 1: tinyllm faster); ` +
    `pp${any?.pp?.tokens ?? "-"}, tg${any?.tg?.tokens ?? "-"}, ${any?.threads ?? "?"} threads.`);

// Decode bandwidth: weights read per token × tg tokens/s.
const threads = String(any?.threads ?? 1);
const machineGbps = membw?.read_gbps?.[threads];
lines.push("");
lines.push(`| model | weights read per token (MiB) | tg tinyllm GB/s | tg llama.cpp GB/s | machine read GB/s (${threads} threads) | ` +
    "tinyllm % | llama.cpp % |");
lines.push("|---|---:|---:|---:|---:|---:|---:|");
for (const [name, entry] of models) {
    const bytes = entry["llama.cpp"]?.last.weights_bytes;
    if (!bytes) continue;
    const tt = median(entry.tinyllm?.tg ?? []), tl = median(entry["llama.cpp"]?.tg ?? []);
    const gt = (bytes * tt) / 1e9, gl = (bytes * tl) / 1e9;
    const pct = (g) => (machineGbps && Number.isFinite(g) ? fmt((100 * g) / machineGbps) : "-");
    lines.push(`| ${name} | ${fmt(bytes / 1048576)} | ${fmt(gt, 2)} | ${fmt(gl, 2)} | ${fmt(machineGbps, 2)} | ` +
        `${pct(gt)} | ${pct(gl)} |`);
}

lines.push("");
lines.push("| model | TTFT ms (128-token prompt) tinyllm | llama.cpp | load ms tinyllm | llama.cpp | " +
    "peak RSS MiB tinyllm | llama.cpp |");
lines.push("|---|---:|---:|---:|---:|---:|---:|");
for (const [name, entry] of models) {
    lines.push(`| ${name} | ${fmt(median(entry.tinyllm?.ttft ?? []))} | ${fmt(median(entry["llama.cpp"]?.ttft ?? []))} | ` +
        `${fmt(median(entry.tinyllm?.load ?? []))} | ${fmt(median(entry["llama.cpp"]?.load ?? []))} | ` +
        `${fmt(median(entry.tinyllm?.rss ?? []))} | ${fmt(median(entry["llama.cpp"]?.rss ?? []))} |`);
}
const overheads = [...models.values()].flatMap((e) => e["llama.cpp"]?.overhead ?? []);
if (overheads.length) {
    lines.push("");
    lines.push(`node binding overhead on the llama.cpp side: median ${fmt(median(overheads))} µs per single-token ` +
        "decode (wall time seen from JavaScript minus llama.cpp's own eval timer), included in its tg numbers.");
}
if (firstLlama?.source) {
    const s = firstLlama.source;
    lines.push(`llama.cpp: ${s.llamaCpp}, prebuilt libraries of node-llama-cpp ${s.nodeLlamaCpp}` +
        `${s.driver ? `, driver ${s.driver}` : ""}${s.cpuVariant ? `, CPU variant ${s.cpuVariant}` : ""}; ` +
        `KV cache ${s.kvCache.key}/${s.kvCache.value}; ` +
        `flash attention ${s.flashAttention ? "on" : "off"}; batch ${s.batchSize}.`);
}
process.stdout.write(lines.join("\n") + "\n");

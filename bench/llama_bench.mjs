#!/usr/bin/env node
// llama_bench.mjs: llama.cpp's side of bench/compare. Measures pp and tg on a GGUF file exactly as llama.cpp's
// llama-bench does (and as `tinyllm bench` does), through the prebuilt CPU binaries of node-llama-cpp 3.22.1
// (installed in scripts/reference/node_modules; the package ships no llama-bench binary), and prints one JSON object
// in the same shape as `tinyllm bench --json`.
//
//   node bench/llama_bench.mjs -m FILE [-p 512] [-n 128] [-t N] [-r 5] [-b 512] [--flash-attn off|on|auto] [--json]
//
//   pp: P random token ids (BOS first when the vocabulary adds one) evaluated from an empty KV cache in chunks of
//       -b tokens, each chunk one llama_decode whose last token gets logits (llama_batch_get_one's behaviour);
//   tg: N ids evaluated one llama_decode at a time from an empty KV cache, each with logits;
//   one warm-up run of each first (the whole prompt; one generated token), then R timed runs.
//
// To keep the binding out of the measurement, the script drives node-llama-cpp's native context object directly
// (initBatch / addToBatch / decodeBatch: exactly llama_batch + llama_decode + llama_synchronize on a worker thread)
// instead of the sequence API with its batching queue, samplers and logit maps. The time this still adds per call
// is measured against llama.cpp's own eval timer (llama_perf_context) and reported as "binding_overhead_us".
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import { spawnSync } from "node:child_process";

// Every llama_decode runs on a libuv worker thread. With the default pool of 4, successive decodes land on
// different threads, each of which gets its own ggml worker threads; on a small machine those compete for the cores.
// One pool thread keeps every decode on the same thread, as llama-bench's single thread does. The pool is created
// before this code runs, so the setting needs a fresh process.
if (process.env.UV_THREADPOOL_SIZE !== "1") {
    const child = spawnSync(process.execPath, process.argv.slice(1),
        { stdio: "inherit", env: { ...process.env, UV_THREADPOOL_SIZE: "1" } });
    process.exit(child.status ?? 1);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeLlamaCppEntry = path.join(here, "..", "scripts", "reference", "node_modules", "node-llama-cpp", "dist",
    "index.js");

function fail(message) {
    process.stderr.write(`llama_bench.mjs: ${message}\n`);
    process.exit(1);
}

let args;
try {
    ({ values: args } = parseArgs({
        options: {
            model: { type: "string", short: "m" },
            "n-prompt": { type: "string", short: "p", default: "512" },
            "n-gen": { type: "string", short: "n", default: "128" },
            threads: { type: "string", short: "t", default: "0" },
            repetitions: { type: "string", short: "r", default: "5" },
            "batch-size": { type: "string", short: "b", default: "512" },
            "flash-attn": { type: "string", default: "off" },
            "kv-type": { type: "string", default: "F16" },
            json: { type: "boolean", default: false },
            ttft: { type: "boolean", default: false },
        },
    }));
} catch (error) {
    fail(error.message);
}
function intOption(name, min) {
    const value = Number(args[name]);
    if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer >= ${min}, got '${args[name]}'`);
    return value;
}
if (!args.model) fail("no model given: use -m FILE");
if (!fs.existsSync(args.model)) fail(`${args.model}: no such file`);
const nPrompt = intOption("n-prompt", 0);
const nGen = intOption("n-gen", 0);
const repetitions = intOption("repetitions", 1);
const nBatch = intOption("batch-size", 1);
let threads = intOption("threads", 0);
if (!["off", "on", "auto"].includes(args["flash-attn"])) fail(`--flash-attn must be off, on or auto`);
if (nPrompt === 0 && nGen === 0) fail("nothing to measure: -p and -n are both 0");
if (!fs.existsSync(nodeLlamaCppEntry)) fail(`node-llama-cpp is not installed: run npm install in scripts/reference`);

const { getLlama, getModuleVersion, GgmlType, LlamaLogLevel, readGgufFileInfo } =
    await import(pathToFileURL(nodeLlamaCppEntry).href);

// ggml block size and bytes per block of the types a weight can have.
const typeSizes = {
    F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24],
    Q8_0: [32, 34], Q8_1: [32, 36], Q2_K: [256, 84], Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176],
    Q6_K: [256, 210], Q8_K: [256, 292], IQ4_NL: [32, 18], IQ4_XS: [256, 136],
};

// From the GGUF header: the weight type (most common type among 2-D tensors), the vocabulary size, and the bytes of
// weights one generated token reads: every 2-D matrix, the output matrix included, but not the token embedding,
// of which only one row is read, unless the output matrix is tied to it (then it is read once, as the output).
async function describeWeights(file) {
    const info = await readGgufFileInfo(file, { ignoreKeys: ["tokenizer.ggml.merges"], logWarnings: false });
    const counts = new Map();
    let bytes = 0, vocabSize = 0, hasOutput = false, embeddingBytes = 0, known = true;
    for (const tensor of info.fullTensorInfo ?? info.tensorInfo) {
        const dims = tensor.dimensions.map(Number);
        if (dims.length < 2) continue;
        const typeName = GgmlType[tensor.ggmlType] ?? String(tensor.ggmlType);
        counts.set(typeName, (counts.get(typeName) ?? 0) + 1);
        const size = typeSizes[typeName];
        if (!size) known = false;
        const tensorBytes = size ? dims.reduce((a, b) => a * b, 1) / size[0] * size[1] : 0;
        if (tensor.name === "token_embd.weight") {
            vocabSize = dims[1];
            embeddingBytes = tensorBytes;
            continue;
        }
        if (tensor.name === "output.weight") hasOutput = true;
        bytes += tensorBytes;
    }
    if (!hasOutput) bytes += embeddingBytes;
    const type = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "?";
    return { type: type.toLowerCase(), vocabSize, weightsBytes: known ? bytes : null };
}

const weights = await describeWeights(args.model);
if (!weights.vocabSize) fail(`${args.model}: no token_embd.weight tensor`);

// llama.cpp's perf report lines arrive through the logger; warnings and errors go to stderr.
const perfLines = [];
let flashAttentionResolved = null; // what llama.cpp made of --flash-attn auto
const llama = await getLlama({
    gpu: false,
    build: "never",
    ...(threads > 0 ? { maxThreads: threads } : {}),
    logLevel: LlamaLogLevel.info,
    logger: (level, message) => {
        if (message.includes("eval time =")) perfLines.push(message);
        else if (message.includes("Flash Attention enabled")) flashAttentionResolved = true;
        else if (message.includes("Flash Attention not supported")) flashAttentionResolved = false;
        else if (level === LlamaLogLevel.warn || level === LlamaLogLevel.error) {
            process.stderr.write(`[llama.cpp ${level}] ${message}\n`);
        }
    },
});
if (threads === 0) threads = llama.cpuMathCores;

// node and the addon's own memory, before the model: subtracted from the peak so the RSS compares with tinyllm's.
const baselineRssMb = process.resourceUsage().maxRSS / 1024;
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath: args.model });
const context = await model.createContext({
    contextSize: Math.max(nPrompt, nGen, args.ttft ? 128 : 0) + 1,
    batchSize: nBatch,
    sequences: 1,
    threads: { ideal: threads, min: threads },
    flashAttention: args["flash-attn"] === "auto" ? "auto" : args["flash-attn"] === "on",
    experimentalKvCacheKeyType: args["kv-type"],
    experimentalKvCacheValueType: args["kv-type"],
    performanceTracking: true,
});
const loadMs = performance.now() - loadStart;
const native = context._ctx; // node-llama-cpp's AddonContext: one llama_context
if (typeof native?.decodeBatch !== "function") fail("node-llama-cpp internals changed (context._ctx.decodeBatch)");
native.setThreads(threads);

// Random ids as llama-bench draws them; BOS first when the vocabulary adds one.
let randomState = 0x9e3779b9;
function randomToken() {
    randomState = (Math.imul(randomState, 1664525) + 1013904223) >>> 0;
    return randomState % weights.vocabSize;
}
const firstToken = () => (model.tokens.shouldPrependBosToken && model.tokens.bos != null
    ? model.tokens.bos : randomToken());

// One llama_decode of `tokens` at positions start.., logits for the last one only (llama_batch_get_one).
async function decode(tokens, start) {
    native.initBatch(tokens.length);
    native.addToBatch(0, start, tokens, Uint32Array.of(tokens.length - 1));
    await native.decodeBatch();
}

async function runPrompt(count) {
    for (let done = 0; done < count;) {
        const n = Math.min(count - done, nBatch);
        const tokens = new Uint32Array(n);
        for (let i = 0; i < n; i++) tokens[i] = done === 0 && i === 0 ? firstToken() : randomToken();
        await decode(tokens, done);
        done += n;
    }
}

async function runGeneration(count) {
    const token = Uint32Array.of(firstToken());
    for (let i = 0; i < count; i++) {
        await decode(token, i);
        token[0] = randomToken();
    }
}

// llama.cpp's own time for the single-token decodes since the last call, in ms (and resets its counters).
async function llamaEvalMs() {
    perfLines.length = 0;
    await context.printTimings();
    const line = perfLines.find((l) => !l.includes("prompt eval"));
    const match = line && /eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(line);
    return match ? { ms: Number(match[1]), runs: Number(match[2]) } : null;
}

// Warm-up, then `repetitions` timed runs, each from an empty KV cache; returns tokens/s per run.
async function measure(kind) {
    const samples = [];
    const overheadUs = [];
    for (let rep = -1; rep < repetitions; rep++) {
        native.disposeSequence(0); // llama_memory_seq_rm(seq 0, all positions): an empty cache
        if (kind === "tg") await llamaEvalMs();
        const start = performance.now();
        if (kind === "pp") await runPrompt(nPrompt);
        else await runGeneration(rep < 0 ? 1 : nGen);
        const ms = performance.now() - start;
        if (rep < 0) continue;
        samples.push((kind === "pp" ? nPrompt : nGen) * 1000 / ms);
        if (kind === "tg") {
            const internal = await llamaEvalMs();
            if (internal && internal.runs === nGen) overheadUs.push((ms - internal.ms) * 1000 / nGen);
        }
    }
    return { samples, overheadUs };
}

function summarize(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const result = { model: path.basename(args.model), type: weights.type, threads, n_batch: nBatch, repetitions };
let overhead = null;
if (nPrompt > 0) {
    const { samples } = await measure("pp");
    result.pp = { tokens: nPrompt, tokens_per_s: summarize(samples), samples };
}
if (nGen > 0) {
    const { samples, overheadUs } = await measure("tg");
    result.tg = { tokens: nGen, tokens_per_s: summarize(samples), samples };
    if (overheadUs.length) overhead = summarize(overheadUs).median;
}
if (args.ttft) {
    // Time to first token: a 128-token prompt from an empty cache, logits of its last token. (tinyllm's figure also
    // includes one greedy sampling step, ~0.1 ms; reading llama.cpp's logits from JavaScript would cost more.)
    const ttft = [];
    for (let rep = -1; rep < repetitions; rep++) {
        native.disposeSequence(0);
        const start = performance.now();
        await runPrompt(128);
        if (rep >= 0) ttft.push(performance.now() - start);
    }
    result.ttft_ms_128 = summarize(ttft).median;
}
result.load_ms = loadMs;
result.peak_rss_mb = process.resourceUsage().maxRSS / 1024 - baselineRssMb;
result.baseline_rss_mb = baselineRssMb;
result.file_size = fs.statSync(args.model).size;
result.weights_bytes = weights.weightsBytes;
result.binding_overhead_us = overhead; // per single-token decode: JS wall time minus llama.cpp's eval time
result.source = {
    nodeLlamaCpp: await getModuleVersion(),
    llamaCpp: `${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}`,
    cpuFeatures: llama.systemInfo.trim(),
    kvCache: { key: GgmlType[context.kvCacheKeyType], value: GgmlType[context.kvCacheValueType] },
    flashAttention: args["flash-attn"] === "auto" ? flashAttentionResolved ?? "auto" : args["flash-attn"] === "on",
    contextSize: context.contextSize,
    batchSize: context.batchSize,
};

if (args.json) {
    process.stdout.write(JSON.stringify(result) + "\n");
} else {
    for (const kind of ["pp", "tg"]) {
        if (!result[kind]) continue;
        const s = result[kind].tokens_per_s;
        process.stdout.write(`${result.model} ${result.type} t=${threads} ${kind}${result[kind].tokens}: ` +
            `${s.median.toFixed(2)} t/s (min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)})\n`);
    }
    if (overhead != null) process.stdout.write(`binding overhead: ${overhead.toFixed(1)} us per decode\n`);
}
await context.dispose();
await model.dispose();
await llama.dispose();

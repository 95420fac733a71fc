#!/usr/bin/env node
// llama_reference.mjs: produces reference outputs from llama.cpp (through node-llama-cpp's prebuilt CPU
// binaries) for tinyllm's correctness tests. For every case it reports the prompt's token ids, the top-K raw
// logits at the last prompt position and N greedy (argmax) token ids, as one JSON document on stdout.
//
//   node llama_reference.mjs --model FILE --cases CASES.json [--top 20] [--greedy 64] [--threads 1] > out.json
//
// CASES.json: {"cases": [{"prompt": "text"} | {"tokens": [ids...]}, ...]}. Run by hand; see README.md.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { getLlama, getModuleVersion, GgmlType, LlamaLogLevel } from "node-llama-cpp";

const { values: args } = parseArgs({
    options: {
        model: { type: "string" },
        cases: { type: "string" },
        top: { type: "string", default: "20" },
        greedy: { type: "string", default: "64" },
        threads: { type: "string", default: "1" },
    },
});
const topCount = Number(args.top);
const greedyCount = Number(args.greedy);
const threads = Number(args.threads);
if (!args.model || !args.cases || !(topCount >= 0 && greedyCount >= 0 && threads >= 1) ||
    ![topCount, greedyCount, threads].every(Number.isInteger)) {
    process.stderr.write("usage: node llama_reference.mjs --model FILE --cases CASES.json " +
        "[--top 20] [--greedy 64] [--threads 1] > out.json\n");
    process.exit(2);
}
const cases = JSON.parse(fs.readFileSync(args.cases, "utf8")).cases;

// stdout carries only the JSON result, so llama.cpp's log lines go to stderr (warnings and errors only).
const llama = await getLlama({
    gpu: false,            // CPU only: the reference must not depend on a GPU being present
    build: "never",        // use the prebuilt binaries shipped in the npm package, never compile llama.cpp
    maxThreads: threads,   // fixed thread count: results must not depend on how busy the machine is
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
});
const model = await llama.loadModel({ modelPath: args.model });

// Context large enough for the longest case, so no context shift ever happens. The whole prompt fits in one batch
// (as llama.cpp's own tools evaluate it). KV cache in F32 and flash attention off: the plainest, most precise path.
const promptTokens = cases.map((c) => (c.tokens !== undefined ? c.tokens.map(Number) : tokenizeLikeLlamaCpp(c.prompt)));
promptTokens.forEach((tokens, index) => {
    if (tokens.length === 0) throw new Error(`case ${index}: nothing to evaluate (empty prompt, model has no BOS)`);
});
const longest = Math.max(0, ...promptTokens.map((tokens) => tokens.length)) + greedyCount;
const context = await model.createContext({
    contextSize: Math.max(longest + 16, 256),
    batchSize: Math.max(longest + 16, 256),
    sequences: 1,
    threads: { ideal: threads, min: threads },
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
});
const sequence = context.getSequence();

// Same ids as llama_tokenize(text, add_special = true, parse_special = false): node-llama-cpp's tokenize() calls
// it with add_special = false, so BOS (and EOS, for the rare vocab that asks for it) are added here as the GGUF's
// tokenizer.ggml.add_bos_token / add_eos_token say. Special-token text in the prompt stays plain text.
function tokenizeLikeLlamaCpp(text) {
    const ids = model.tokenize(text, false);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) ids.unshift(model.tokens.bos);
    if (model.tokens.shouldAppendEosToken && model.tokens.eos != null) ids.push(model.tokens.eos);
    return ids;
}

// Evaluates `tokens` after what the sequence already holds and returns the raw logits predicted after the last one,
// as a Float64Array indexed by token id. With temperature 0 and no penalty/bias options, node-llama-cpp's sampler
// chain is only llama.cpp's greedy sampler, which selects a token but leaves the candidates' logits untouched, so
// `logits: true` returns llama_get_logits_ith() values unchanged (see README.md).
async function evaluateAndGetLogits(tokens) {
    const input = tokens.map((id, i) => (i < tokens.length - 1
        ? id
        : [id, { generateNext: { logits: true, options: { temperature: 0 } } }]));
    const output = await sequence.controlledEvaluate(input);
    const logitMap = output[tokens.length - 1].next.logits;
    let vocabSize = 0;   // the map holds every token of the vocabulary, ordered by logit, not by id
    for (const id of logitMap.keys()) vocabSize = Math.max(vocabSize, id + 1);
    const logits = new Float64Array(vocabSize).fill(-Infinity);
    for (const [id, value] of logitMap) logits[id] = value;
    return logits;
}

// Token id of the largest logit; the lowest id wins a tie (as llama.cpp's greedy sampler does).
function argmax(logits) {
    let best = 0;
    for (let id = 1; id < logits.length; id++) if (logits[id] > logits[best]) best = id;
    return best;
}

// The `count` largest logits as [id, logit] pairs, descending (ties by ascending id).
function topLogits(logits, count) {
    const ids = Array.from(logits.keys());
    ids.sort((a, b) => logits[b] - logits[a] || a - b);
    // Logits are float32 values: 9 significant digits give back the exact same float32, in fewer characters.
    return ids.slice(0, count).map((id) => [id, Number(logits[id].toPrecision(9))]);
}

// One case: evaluate the prompt from an empty KV cache, take the top logits at its last position, then decode
// greedily: argmax over the raw logits, each chosen id fed back one at a time (no sampler at all).
async function runCase(c, tokens) {
    await sequence.clearHistory();
    let logits = await evaluateAndGetLogits(tokens);
    const top = topLogits(logits, topCount);
    const greedy = [];
    for (let step = 0; step < greedyCount; step++) {
        greedy.push(argmax(logits));
        if (step + 1 < greedyCount) logits = await evaluateAndGetLogits([greedy[step]]);
    }
    return { ...(c.prompt !== undefined ? { prompt: c.prompt } : {}), tokens, top, greedy };
}

// JSON.stringify with indentation puts every number on its own line, which is hard to read and diff: this prints
// each array of plain numbers (token ids, one [id, logit] pair) on one line and indents everything else.
function toJson(value, indent = "") {
    const inner = indent + " ";
    if (Array.isArray(value) && !value.every((item) => typeof item === "number")) {
        return `[\n${value.map((item) => inner + toJson(item, inner)).join(",\n")}\n${indent}]`;
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const fields = Object.entries(value)
            .map(([key, item]) => `${inner}${JSON.stringify(key)}: ${toJson(item, inner)}`);
        return `{\n${fields.join(",\n")}\n${indent}}`;
    }
    return JSON.stringify(value);
}

const started = Date.now();
const results = [];
for (const [index, c] of cases.entries()) {
    try {
        results.push(await runCase(c, promptTokens[index]));
    } catch (error) {
        // node-llama-cpp reports a failed llama_decode() only as "Eval has failed": name the case and likely cause.
        throw new Error(`case ${index}: ${error.message} (token ids out of the vocabulary?)`, { cause: error });
    }
}

const release = llama.llamaCppRelease;
const output = {
    source: {
        tool: "scripts/reference/llama_reference.mjs",
        nodeLlamaCpp: await getModuleVersion(),
        llamaCpp: `${release.repo} ${release.release}`,
        build: llama.buildType,
        backend: "CPU",
        cpuFeatures: llama.systemInfo.trim(),   // picks the ggml CPU kernel variant: logits can differ in the last bits
        kvCache: { key: GgmlType[context.kvCacheKeyType], value: GgmlType[context.kvCacheValueType] },
        flashAttention: context.flashAttention,
        threads: context.idealThreads,
        contextSize: context.contextSize,
        batchSize: context.batchSize,
        tokenization: "llama_tokenize(add_special=true, parse_special=false) for text prompts",
        logits: "raw llama_get_logits_ith() values at the last prompt position",
        greedy: "argmax over raw logits, fed back one token at a time; no sampler, no penalties",
    },
    model: path.basename(args.model),
    cases: results,
};
process.stdout.write(toJson(output) + "\n");
// Timing goes to stderr, so that regenerating a reference file gives the very same bytes.
process.stderr.write(`${cases.length} cases in ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
await context.dispose();
await model.dispose();
await llama.dispose();

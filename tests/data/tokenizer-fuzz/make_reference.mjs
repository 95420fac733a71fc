#!/usr/bin/env node
// make_reference.mjs: writes llama.cpp's token ids for plain.inp and special.inp, for every vocab in
// shared/tokenizers/llama.cpp-vocab, as <vocab>.plain.out / <vocab>.special.out beside this script.
// plain.inp is tokenized like llama.cpp's test-tokenizer-0 (no BOS, special text not parsed), special.inp
// with special tokens parsed. Uses node-llama-cpp (llama.cpp's prebuilt CPU binaries) installed by
// scripts/reference (see its README.md). Run by hand:  node make_reference.mjs [SHARED_DIR]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { getLlama, LlamaLogLevel } = await import(
    path.join(here, "../../../scripts/reference/node_modules/node-llama-cpp/dist/index.js"));
const shared = process.argv[2] ?? path.join(here, "../../../../shared");
const vocabDir = path.join(shared, "tokenizers/llama.cpp-vocab");
const separator = "\n__ggml_vocab_test__\n";

function readCases(file) {
    const raw = fs.readFileSync(path.join(here, file), "utf8");
    const cases = raw.split(separator);
    cases.pop(); // the text after the last separator is empty
    return cases;
}
const sets = [["plain", readCases("plain.inp"), false], ["special", readCases("special.inp"), true]];

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
for (const file of fs.readdirSync(vocabDir).filter((f) => f.endsWith(".gguf")).sort()) {
    let model;
    try {
        model = await llama.loadModel({ modelPath: path.join(vocabDir, file), vocabOnly: true });
    } catch (e) {
        process.stderr.write(`${file}: not loaded (${e.message})\n`);
        continue;
    }
    const base = file.replace(/\.gguf$/, "");
    for (const [name, cases, parseSpecial] of sets) {
        const lines = cases.map((text) => Array.from(model.tokenize(text, parseSpecial)).join(" "));
        fs.writeFileSync(path.join(here, `${base}.${name}.out`), lines.join("\n") + "\n");
    }
    process.stderr.write(`${file}: done\n`);
    await model.dispose();
}

#!/usr/bin/env node
// tokenize_reference.mjs: llama.cpp's token ids (through node-llama-cpp's prebuilt CPU binaries) for every line of
// tests/data/multilingual.txt, the whole file, a set of edge cases and the random strings of tests/data/tokenizer-fuzz,
// with one vocabulary-only GGUF file. Writes
// {"source": {...}, "cases": [{"text", "special", "tokens", "detokenized"}, ...]} to stdout:
//   tokens       llama_tokenize(text, add_special = false, parse_special = special)
//   detokenized  llama_detokenize(tokens, remove_special = false, unparse_special = false)
// tests/unit/test_tokenizer_reference.c rebuilds the same vocabulary and requires the same ids and text.
//
// The vocabularies are the ones tinyllm writes itself (src/authoring/synth_vocab.c), so that test writes them; to make
// the references (run by hand, from the repository root, after `cd scripts/reference && npm install`):
//
//   mkdir -p /tmp/tok-vocab
//   cmake -S . -B build && cmake --build build --target test_tokenizer_reference
//   TL_TOKENIZER_VOCAB_OUT=/tmp/tok-vocab ./build/tests/test_tokenizer_reference
//       (it writes vocab-gemma3.gguf, vocab-llama2.gguf and vocab-t5.gguf there; without references yet it fails
//       after writing them, which is fine)
//   node scripts/reference/tokenize_reference.mjs --vocab /tmp/tok-vocab/vocab-gemma3.gguf \
//       --name "gemma3 tokenizer.json (shared/tokenizers/gemma3) via tl_synth_vocab_from_hf" \
//       > tests/reference/tokenizer-gemma3.json
//   node scripts/reference/tokenize_reference.mjs --vocab /tmp/tok-vocab/vocab-llama2.gguf \
//       --name "llama2 tokenizer.json (shared/tokenizers/llama2) via tl_synth_vocab_from_hf" \
//       > tests/reference/tokenizer-llama2.json
//   node scripts/reference/tokenize_reference.mjs --vocab /tmp/tok-vocab/vocab-t5.gguf \
//       --name "tl_synth_vocab_unigram(32128)" > tests/reference/tokenizer-t5.json
//
// node-llama-cpp first tries a full load of a file without tensors and logs "missing tensor 'token_embd.weight'"
// before loading the vocabulary only; that message is expected.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const { values: args } = parseArgs({
    options: {
        vocab: { type: "string" },
        name: { type: "string", default: "" },
    },
});
if (!args.vocab) {
    process.stderr.write("usage: node tokenize_reference.mjs --vocab FILE.gguf [--name TEXT] > out.json\n");
    process.exit(2);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = fs.readFileSync(path.join(here, "../../tests/data/multilingual.txt"), "utf8");
// The random strings of tests/data/tokenizer-fuzz (odd whitespace, many scripts, unassigned code points,
// special-token texts), in llama.cpp's test-vector format.
function fuzzStrings(name) {
    const raw = fs.readFileSync(path.join(here, "../../tests/data/tokenizer-fuzz", name), "utf8");
    const strings = raw.split("\n__ggml_vocab_test__\n");
    strings.pop(); // the text after the last separator is empty
    return strings;
}

// Plain text: each line of the corpus (with its newline), the whole corpus, and edge cases.
const plain = [
    ...corpus.split(/(?<=\n)/),
    corpus,
    "",
    " ",
    "  ",
    "   leading and trailing spaces   ",
    "\n",
    "\n\n\n",
    "\t",
    "a\tb\nc\r\nd",
    "0123456789 3.14159 -42 1e10 1,000,000 2024-06-30",
    "😀😂🦙 👩‍💻 👨‍👩‍👧‍👦 🇩🇪 1️⃣",
    "日本語とEnglishと한국어とالعربيةとहिन्दी",
    "a".repeat(1000),
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "abc".repeat(300),
    "Ｆｕｌｌ ｗｉｄｔｈ ＡＳＣＩＩ！ １２３",
    "ﬁne ﬂow ﬀ ﬃ ½ ¼ ² ³ ① … ™ Å",
    "cafe\u0301 A\u030Angstro\u0308m fac\u0327ade",
    "zero\u200Bwidth soft\u00ADhyphen no\u00A0break ideographic\u3000space",
    "ｱｲｶｷ half-width katakana",
    "<table><tr><td>cell</td></tr></table> <b>bold</b> </s> <unk> <pad>",
    "<start_of_turn>user\nhello<end_of_turn>",
    "<extra_id_0> fill <extra_id_1>",
    "\u2581already\u2581escaped\u2581",
    "\uFFFD replacement, \u0007 bell, \u001F unit separator",
    ...fuzzStrings("plain.inp"),
];
// Texts whose special tokens are parsed.
const special = [
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<bos>text<eos>",
    "<extra_id_0> fill <extra_id_1> in </s>",
    "<pad><unk></s><mask>",
    ...fuzzStrings("special.inp"),
];

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: args.vocab, vocabOnly: true });
const cases = [];
for (const [texts, parseSpecial] of [[plain, false], [special, true]]) {
    for (const text of texts) {
        const tokens = Array.from(model.tokenize(text, parseSpecial));
        const detokenized = model.detokenize(tokens, false);
        cases.push({ text, special: parseSpecial, tokens, detokenized });
    }
}
await model.dispose();

const packageJson = JSON.parse(fs.readFileSync(path.join(here, "node_modules/node-llama-cpp/package.json"), "utf8"));
const info = JSON.parse(fs.readFileSync(path.join(here, "node_modules/node-llama-cpp/llama/llama.cpp.info.json"), "utf8"));
const result = {
    source: {
        nodeLlamaCpp: packageJson.version,
        llamaCpp: `${info.llamaCppGithubRepo} ${info.tag}`,
        vocab: args.name || path.basename(args.vocab),
        corpus: "tests/data/multilingual.txt, tests/data/tokenizer-fuzz/plain.inp and special.inp, edge cases",
    },
    cases,
};
// One case per line keeps diffs readable.
process.stdout.write('{\n "source": ' + JSON.stringify(result.source) + ',\n "cases": [\n' +
    cases.map((c) => "  " + JSON.stringify(c)).join(",\n") + "\n ]\n}\n");

// hf_fuzz.mjs — Hugging Face's token ids for the random strings of
// tests/data/tokenizer-fuzz (plain.inp, special.inp), for the llama.cpp
// vocabularies that have a Hugging Face tokenizer (bert-bge, qwen2,
// llama-bpe, smollm): <vocab>.plain.hf.out and <vocab>.special.hf.out beside
// llama.cpp's <vocab>.*.out, in the same format (one line of ids per string).
// tests/unit/test_tokenizer.c uses them where llama.cpp and Hugging Face
// disagree: its exception list names each such string, and tinyllm must
// give Hugging Face's ids there.
//
//   cd scripts/reference/hf && npm install && node hf_fuzz.mjs [--shared DIR]
//
// Encoded with add_special_tokens = false; Hugging Face splits added tokens
// out of every string, so for plain.inp the ids are comparable only where a
// string holds no added token's text.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, vocabularies, checkPairing, loadTokenizer, parseArguments, vocabDir } from "./hf_vocabularies.mjs";

parseArguments("hf_fuzz.mjs");
const dir = join(root, "tests", "data", "tokenizer-fuzz");
const separator = "\n__ggml_vocab_test__\n";
const readCases = (file) => {
  const cases = readFileSync(join(dir, file), "utf8").split(separator);
  cases.pop(); // the text after the last separator is empty
  return cases;
};
const sets = [["plain", readCases("plain.inp")], ["special", readCases("special.inp")]];

for (const v of vocabularies.filter((v) => v.gguf)) {
  const tok = loadTokenizer(v);
  if (!tok) continue;
  checkPairing(tok, join(vocabDir(), v.gguf), !!v.build);
  const base = v.gguf.replace(/\.gguf$/, "");
  for (const [name, cases] of sets) {
    const lines = [];
    for (const text of cases) {
      const enc = await tok.encode(text, null, { addSpecialTokens: false });
      lines.push(enc.getIds().join(" "));
    }
    writeFileSync(join(dir, `${base}.${name}.hf.out`), lines.join("\n") + "\n");
  }
  console.error(`${v.name}: ${base}.plain.hf.out, ${base}.special.hf.out`);
}

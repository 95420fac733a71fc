// hf_tokens.mjs — Hugging Face's token ids for every string of
// tests/data/hf-corpus.json, one file per vocabulary:
// tests/reference/hf-tokens-NAME.json. tests/unit/test_tokenizer_hf.c checks
// that tinyllm gives the very same ids.
//
//   cd scripts/reference/hf && npm install && node hf_tokens.mjs [--shared DIR]
//
// The truth is the Rust `tokenizers` library (npm package `tokenizers`, with
// prebuilt binaries) loading each model's own tokenizer.json from the shared
// folder (default ../../../../shared, or $TINYLLM_SHARED). BERT (bge) has no
// tokenizer.json there: it is rebuilt from llama.cpp's
// ggml-vocab-bert-bge.gguf as the model's own file has it (WordPiece with
// "##" continuations, BertNormalizer with lowercase and accent stripping,
// BertPreTokenizer).
//
// Each string is encoded with add_special_tokens = false: no BOS/EOS/[CLS]/
// [SEP] is added, so the ids are those of the text alone (tinyllm's
// add_special = false). Added tokens that appear in the text (such as
// "<|im_start|>") are still split out, as Hugging Face always does; that is
// tinyllm's parse_special = true.
//
// For the byte-level BPE vocabularies the C test loads llama.cpp's GGUF of
// the same vocabulary; this script checks that both give every id the same
// token text, so that comparing ids is meaningful.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root, vocabularies, checkPairing, loadTokenizer, parseArguments, tokenizersVersion, vocabDir } from "./hf_vocabularies.mjs";

parseArguments("hf_tokens.mjs");
const corpus = JSON.parse(readFileSync(join(root, "tests", "data", "hf-corpus.json"), "utf8"));
const version = tokenizersVersion();
for (const v of vocabularies) {
  const tok = loadTokenizer(v);
  if (!tok) continue;
  if (v.gguf) checkPairing(tok, join(vocabDir(), v.gguf), !!v.build);
  const lines = [];
  for (const text of corpus) {
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    lines.push(JSON.stringify(enc.getIds()));
  }
  const source = {
    tokenizers: `npm tokenizers ${version}`,
    vocab: v.json ? `shared/${v.json}` : `rebuilt from shared/tokenizers/llama.cpp-vocab/${v.gguf}`,
    gguf: v.gguf ? `shared/tokenizers/llama.cpp-vocab/${v.gguf}` : "the tokenizer.json converted by tl_synth_vocab_from_hf",
    corpus: "tests/data/hf-corpus.json",
    encode: "add_special_tokens = false (added tokens in the text are split out)",
  };
  const out = `{\n "source": ${JSON.stringify(source)},\n "count": ${corpus.length},\n "ids": [\n  ${lines.join(",\n  ")}\n ]\n}\n`;
  const file = join(root, "tests", "reference", `hf-tokens-${v.name}.json`);
  writeFileSync(file, out);
  console.error(`${v.name}: ${corpus.length} strings -> ${file}`);
}

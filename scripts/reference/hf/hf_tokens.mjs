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
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "tokenizers";
import { readGgufMetadata } from "./gguf_vocab.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
let shared = process.env.TINYLLM_SHARED || join(root, "..", "shared");
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--shared" && i + 1 < process.argv.length) shared = process.argv[++i];
  else { console.error(`hf_tokens.mjs: unknown argument '${process.argv[i]}' (usage: node hf_tokens.mjs [--shared DIR])`); process.exit(1); }
}
const vocabDir = join(shared, "tokenizers", "llama.cpp-vocab");

// name, tokenizer.json (relative to shared) or a builder, and the GGUF the C
// test pairs it with (null: the C test converts the tokenizer.json itself).
const vocabularies = [
  { name: "bert", build: () => bertTokenizerJson(join(vocabDir, "ggml-vocab-bert-bge.gguf")), gguf: "ggml-vocab-bert-bge.gguf" },
  { name: "qwen3", json: "tokenizers/qwen3/tokenizer.json", gguf: "ggml-vocab-qwen2.gguf" },
  { name: "llama3", json: "tokenizers/llama3/tokenizer.json", gguf: "ggml-vocab-llama-bpe.gguf" },
  { name: "smollm2", json: "tokenizers/smollm2/tokenizer.json", gguf: "ggml-vocab-smollm.gguf" },
  { name: "gemma3", json: "tokenizers/gemma3/tokenizer.json", gguf: null },
  { name: "llama2", json: "tokenizers/llama2/tokenizer.json", gguf: null },
  { name: "tinystories656k", json: "models/TinyStories-656K/tokenizer.json", gguf: null },
];

// BERT's tokenizer.json from llama.cpp's GGUF: its converter wrote
// word-initial pieces as "▁piece", continuations without their "##", and
// bracketed tokens ("[CLS]", "[unused0]") unchanged.
function bertTokenizerJson(path) {
  const kv = readGgufMetadata(path);
  const tokens = kv["tokenizer.ggml.tokens"], types = kv["tokenizer.ggml.token_type"];
  const vocab = {};
  const added = [];
  tokens.forEach((t, id) => {
    let text;
    if (t.startsWith("\u2581")) text = t.slice(1);
    else if (t.startsWith("[") && t.endsWith("]")) text = t;
    else text = "##" + t;
    vocab[text] = id;
    if (types[id] === 3) {
      added.push({ id, content: text, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  });
  const unk = tokens[kv["tokenizer.ggml.unknown_token_id"]];
  return JSON.stringify({
    version: "1.0", truncation: null, padding: null, added_tokens: added,
    // strip_accents null: follows lowercase (true), as bge's own file says.
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: unk, continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
  });
}

// Every id of the GGUF must have the text the tokenizer gives it.
function checkPairing(tok, ggufPath, bert) {
  const tokens = readGgufMetadata(ggufPath)["tokenizer.ggml.tokens"];
  const size = tok.getVocabSize(true);
  if (size !== tokens.length) throw new Error(`${ggufPath}: ${tokens.length} tokens, the tokenizer has ${size}`);
  if (bert) return; // built from this very file
  for (let id = 0; id < tokens.length; id++) {
    const text = tok.idToToken(id);
    if (text !== tokens[id]) throw new Error(`${ggufPath}: token ${id} is ${JSON.stringify(tokens[id])}, the tokenizer's is ${JSON.stringify(text)}`);
  }
}

const corpus = JSON.parse(readFileSync(join(root, "tests", "data", "hf-corpus.json"), "utf8"));
const version = JSON.parse(readFileSync(join(here, "node_modules", "tokenizers", "package.json"), "utf8")).version;
for (const v of vocabularies) {
  let tok;
  if (v.build) tok = Tokenizer.fromString(v.build());
  else {
    const path = join(shared, v.json);
    if (!existsSync(path)) { console.error(`${v.name}: ${path} not found, skipped`); continue; }
    tok = Tokenizer.fromFile(path);
  }
  if (v.gguf) checkPairing(tok, join(vocabDir, v.gguf), !!v.build);
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

// hf_vocabularies.mjs — the vocabularies compared with Hugging Face's
// tokenizers (hf_tokens.mjs, hf_fuzz.mjs): where each tokenizer.json is, how
// BERT's is rebuilt from llama.cpp's GGUF, and which GGUF the C tests pair
// each one with. The shared folder is ../../../../shared (beside the
// checkout), $TINYLLM_SHARED, or --shared DIR.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "tokenizers";
import { readGgufMetadata } from "./gguf_vocab.mjs";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..", "..");
export let shared = process.env.TINYLLM_SHARED || join(root, "..", "shared");
export function parseArguments(script) {
  for (let i = 2; i < process.argv.length; i++) {
    if (process.argv[i] === "--shared" && i + 1 < process.argv.length) shared = process.argv[++i];
    else { console.error(`${script}: unknown argument '${process.argv[i]}' (usage: node ${script} [--shared DIR])`); process.exit(1); }
  }
}
export const vocabDir = () => join(shared, "tokenizers", "llama.cpp-vocab");

// name, tokenizer.json (relative to shared) or a builder, and the GGUF the C
// test pairs it with (null: the C test converts the tokenizer.json itself).
export const vocabularies = [
  { name: "bert", build: () => bertTokenizerJson(join(vocabDir(), "ggml-vocab-bert-bge.gguf")), gguf: "ggml-vocab-bert-bge.gguf" },
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
export function checkPairing(tok, ggufPath, bert) {
  const tokens = readGgufMetadata(ggufPath)["tokenizer.ggml.tokens"];
  const size = tok.getVocabSize(true);
  if (size !== tokens.length) throw new Error(`${ggufPath}: ${tokens.length} tokens, the tokenizer has ${size}`);
  if (bert) return; // built from this very file
  for (let id = 0; id < tokens.length; id++) {
    const text = tok.idToToken(id);
    if (text !== tokens[id]) throw new Error(`${ggufPath}: token ${id} is ${JSON.stringify(tokens[id])}, the tokenizer's is ${JSON.stringify(text)}`);
  }
}

// The Hugging Face tokenizer of vocabulary v, or null when its file is absent.
export function loadTokenizer(v) {
  if (v.build) return Tokenizer.fromString(v.build());
  const path = join(shared, v.json);
  if (!existsSync(path)) { console.error(`${v.name}: ${path} not found, skipped`); return null; }
  return Tokenizer.fromFile(path);
}

export const tokenizersVersion = () =>
  JSON.parse(readFileSync(join(here, "node_modules", "tokenizers", "package.json"), "utf8")).version;

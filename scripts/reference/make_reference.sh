#!/usr/bin/env bash
# Produces tests/reference/<name>.json: llama.cpp's tokens, top-20 logits and
# greedy continuations for random-weight models written by `tinyllm synth`,
# for the cases in tests/reference/cases*.json.
#   scripts/reference/make_reference.sh path/to/tinyllm [NAME...]
# With NAMEs (e.g. qwen3-tiny-f32 nomic-tiny-f32-mean), only those files are
# rewritten; without, all of them.
# Needs `npm install` in scripts/reference first (see README.md); builds
# build/llama_ref (scripts/reference/llama_ref.c) against those libraries.
# The models are rebuilt at test time by the same synth command and seed, so
# only the small JSON files are committed.
set -euo pipefail
tinyllm=$(realpath "${1:?usage: make_reference.sh TINYLLM_BINARY [NAME...]}")
shift
only=" $* "
# wanted NAME: true when NAME's file is to be written.
wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }
cd "$(dirname "$0")/../.."
shared=${TINYLLM_SHARED:-../shared}
ref=build/llama_ref
scripts/reference/build_llama_tool.sh scripts/reference/llama_ref.c "$ref" \
  $(pkg-config --cflags --libs libcjson) -lm >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name preset type tiny vocab(- = the preset's) cases — keep in sync with tests/unit/test_golden.c
while read -r name preset type tiny vocab cases; do
  wanted "$name" || continue
  args=(--preset "$preset" --type "$type" --seed 42 -o "$tmp/$name.gguf")
  [ "$tiny" = tiny ] && args+=(--tiny)
  [ "$vocab" != - ] && args+=(--vocab "$shared/tokenizers/$vocab")
  TINYLLM_SHARED=$shared "$tinyllm" synth "${args[@]}"
  "$ref" decode --model "$tmp/$name.gguf" --cases "tests/reference/$cases" --top 20 --greedy 32 \
    --threads 2 >"tests/reference/$name.json"
  echo "wrote tests/reference/$name.json" >&2
done <<'LIST'
qwen2-test-q8_0 qwen2-test q8_0 full - cases.json
llama3-test-q4_0 llama3-test q4_0 full - cases.json
phi3-tiny-f32 phi3-mini f32 tiny - cases-32k.json
stablelm-tiny-q8_0 stablelm2-1.6b q8_0 tiny - cases-32k.json
stablelm12b-tiny-q8_0 stablelm2-12b q8_0 tiny - cases-32k.json
gemma-tiny-q8_0 gemma-2b q8_0 tiny - cases.json
gemma2-tiny-f32 gemma2-2b f32 tiny - cases.json
gemma3-tiny-f32 gemma3-270m f32 tiny - cases.json
qwen3-tiny-f32 qwen3-0.6b f32 tiny - cases.json
LIST

# --- tinyllm convert (tests/unit/test_convert.c) ----------------------------------------------------------------
# tests/reference/tinystories656k-<type>.json: llama.cpp on the GGUF that `tinyllm convert` writes from the Hugging
# Face folder $TINYLLM_SHARED/models/TinyStories-656K (llama, 2048-token SentencePiece-style BPE vocabulary).
for type in f32 q8_0; do
  wanted "tinystories656k-$type" || continue
  "$tinyllm" convert -q "$shared/models/TinyStories-656K" "$tmp/tinystories656k-$type.gguf" --type "$type"
  "$ref" decode --model "$tmp/tinystories656k-$type.gguf" --cases tests/reference/tinystories656k-cases.json \
    --top 20 --greedy 32 --threads 2 >"tests/reference/tinystories656k-$type.json"
  echo "wrote tests/reference/tinystories656k-$type.json" >&2
done

# --- tinyllm convert --from ggml (tests/unit/test_convert_legacy.c) -------------------------------------------------
# tests/reference/tinyllama-v0-ggjt-q4_0.json: llama.cpp on the GGUF that `tinyllm convert --from ggml` writes from
# $TINYLLM_SHARED/models/tinyllama-v0-5m-ggjtv3-q4_0.bin (GGJT v3, Q4_0 blocks carried over bit for bit).
if wanted tinyllama-v0-ggjt-q4_0; then
  "$tinyllm" convert --from ggml "$shared/models/tinyllama-v0-5m-ggjtv3-q4_0.bin" "$tmp/tinyllama-v0-ggjt-q4_0.gguf"
  "$ref" decode --model "$tmp/tinyllama-v0-ggjt-q4_0.gguf" --cases tests/reference/tinyllama-v0-ggjt-cases.json \
    --top 20 --greedy 32 --threads 2 >tests/reference/tinyllama-v0-ggjt-q4_0.json
  echo "wrote tests/reference/tinyllama-v0-ggjt-q4_0.json" >&2
fi

# --- T5 encoder-decoder (tests/unit/test_t5.c, tests/cli/test_t5.sh) -------------------------------------------
# tests/reference/t5-tiny-<type>.json: llama_ref encdec (llama.cpp's encoder output rows, top-20 logits after the
# decoder start token, 32 greedy ids) for the tiny flan-t5-small with the project's Unigram vocabulary. Encoder
# rows of long inputs are thinned to 8 (their indices in "encoder_rows") to keep the file small.
for type in f32 q8_0; do
  wanted "t5-tiny-$type" || continue
  "$tinyllm" synth --preset flan-t5-small --tiny --type "$type" --seed 42 --vocab @unigram -o "$tmp/t5-tiny-$type.gguf"
  "$ref" encdec --model "$tmp/t5-tiny-$type.gguf" --cases tests/reference/t5-cases.json --top 20 --greedy 32 \
    --threads 2 | node -e '
      let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
        const j = JSON.parse(s);
        j.model = "flan-t5-small --tiny --type '"$type"' --seed 42 --vocab @unigram";
        for (const c of j.cases) {
          const n = c.encoder.length, keep = n <= 16 ? [...Array(n).keys()]
            : [...new Set([...Array(8).keys()].map(i => Math.round(i * (n - 1) / 7)))];
          c.encoder_rows = keep;
          c.encoder = keep.map(i => c.encoder[i]);
        }
        console.log(JSON.stringify(j, null, 1).replace(/\[[-0-9.e,\s]*\]/g, m => m.replace(/\s+/g, "")));
      });' >"tests/reference/t5-tiny-$type.json"
  echo "wrote tests/reference/t5-tiny-$type.json" >&2
done

# --- BERT-family encoders (tests/unit/test_bert.c, tests/cli/test_embed.sh) -------------------------------------
# tests/reference/<prefix>-<type>-<pooling>.json: llama_ref embed, L2-normalized, for a tiny encoder with the BERT
# (bge) WordPiece vocabulary: one vector per case of CASES (whose last case fills the context exactly) for mean, cls
# and last; one row per token of bert-rows-cases.json for none.
#   bert-tiny: all-minilm-l6-v2 (learned positions, GELU), 512-token context;
#   nomic-tiny: nomic-embed-text-v1.5 (rotary positions, fused q/k/v, SwiGLU), 2048-token context.
# prefix preset context cases types poolings — keep in sync with tests/unit/test_bert.c
while read -r prefix preset n_ctx cases types poolings; do
  for type in ${types//,/ }; do
    model=$tmp/$prefix-$type.gguf
    for pooling in ${poolings//,/ }; do
      name=$prefix-$type-$pooling
      wanted "$name" || continue
      [ -f "$model" ] || "$tinyllm" synth --preset "$preset" --tiny --type "$type" --seed 42 \
        --vocab "$shared/tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf" -o "$model"
      file=$cases
      [ "$pooling" = none ] && file=bert-rows-cases.json
      "$ref" embed --model "$model" --cases "tests/reference/$file" --pooling "$pooling" \
        --normalize --n-ctx "$n_ctx" --threads 2 >"tests/reference/$name.json"
      echo "wrote tests/reference/$name.json" >&2
    done
  done
done <<'LIST'
bert-tiny all-minilm-l6-v2 512 bert-cases.json q8_0,f16 mean,cls,last,none
nomic-tiny nomic-embed-text-v1.5 2048 nomic-cases.json f32,q8_0 mean,none
LIST

# --- Rerankers (tests/unit/test_rerank.c) --------------------------------------------------------------------------
# tests/reference/rerank-tiny-<type>.json: llama_ref embed with rank pooling (llama.cpp's classification head: the
# pooler's dense + tanh, then cls.output) for the tiny ms-marco-minilm-l6-v2 with the BERT (bge) vocabulary, on the
# query-document pairs of rerank-cases.json, tokenized as llama-server's /v1/rerank does (the last pair's document is
# long: 438 tokens of a 512-token context).
for type in f32 q8_0; do
  name=rerank-tiny-$type
  wanted "$name" || continue
  "$tinyllm" synth --preset ms-marco-minilm-l6-v2 --tiny --type "$type" --seed 42 \
    --vocab "$shared/tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf" -o "$tmp/$name.gguf"
  "$ref" embed --model "$tmp/$name.gguf" --cases tests/reference/rerank-cases.json --pooling rank --n-ctx 512 \
    --threads 2 >"tests/reference/$name.json"
  echo "wrote tests/reference/$name.json" >&2
done

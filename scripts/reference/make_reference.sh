#!/usr/bin/env bash
# Produces tests/reference/<name>.json: llama.cpp's tokens, top-20 logits and
# greedy continuations for random-weight models written by `tinyllm synth`,
# for the cases in tests/reference/cases*.json.
#   scripts/reference/make_reference.sh path/to/tinyllm
# Needs `npm install` in scripts/reference first (see README.md); builds
# build/llama_ref (scripts/reference/llama_ref.c) against those libraries.
# The models are rebuilt at test time by the same synth command and seed, so
# only the small JSON files are committed.
set -euo pipefail
tinyllm=$(realpath "${1:?usage: make_reference.sh TINYLLM_BINARY}")
cd "$(dirname "$0")/../.."
shared=${TINYLLM_SHARED:-../shared}
ref=build/llama_ref
scripts/reference/build_llama_tool.sh scripts/reference/llama_ref.c "$ref" \
  $(pkg-config --cflags --libs libcjson) -lm >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name preset type tiny vocab(- = the preset's) cases — keep in sync with tests/unit/test_golden.c
while read -r name preset type tiny vocab cases; do
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
phi3-tiny-f16 phi3-mini f16 tiny - cases-32k.json
stablelm-tiny-q8_0 stablelm2-1.6b q8_0 tiny - cases-32k.json
gemma-tiny-q8_0 gemma-2b q8_0 tiny llama.cpp-vocab/ggml-vocab-llama-spm.gguf cases-32k.json
gemma2-tiny-f32 gemma2-2b f32 tiny llama.cpp-vocab/ggml-vocab-llama-spm.gguf cases-32k.json
gemma3-tiny-q8_0 gemma3-270m q8_0 tiny llama.cpp-vocab/ggml-vocab-llama-spm.gguf cases-32k.json
LIST

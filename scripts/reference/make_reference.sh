#!/usr/bin/env bash
# Produces tests/reference/<preset>-<type>.json: llama.cpp's tokens, top-20
# logits and greedy continuations for random-weight models written by
# `tinyllm synth`, for the cases in tests/reference/cases.json.
#   scripts/reference/make_reference.sh path/to/tinyllm
# Needs `npm install` in scripts/reference first (see README.md). The models
# are rebuilt at test time by the same synth command and seed, so only the
# small JSON files are committed.
set -euo pipefail
tinyllm=$(realpath "${1:?usage: make_reference.sh TINYLLM_BINARY}")
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# preset:type — keep in sync with tests/unit/test_golden.c
for model in qwen2-test:q8_0 llama3-test:q4_0; do
  preset=${model%%:*} type=${model##*:}
  "$tinyllm" synth --preset "$preset" --type "$type" --seed 42 -o "$tmp/$preset-$type.gguf"
  node scripts/reference/llama_reference.mjs --model "$tmp/$preset-$type.gguf" \
    --cases tests/reference/cases.json --top 20 --greedy 32 --threads 2 >"tests/reference/$preset-$type.json"
  echo "wrote tests/reference/$preset-$type.json" >&2
done

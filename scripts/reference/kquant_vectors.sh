#!/usr/bin/env bash
# Produces tests/reference/kquants.json: ggml's K-quant bytes, dequantization
# hashes and dot products for a fixed input (see kquant_vectors.c), from the
# prebuilt ggml libraries of node-llama-cpp (linux-x64 package).
#   scripts/reference/kquant_vectors.sh [kquant|iquant]
# With `iquant` (what iquant_vectors.sh runs), iquant_vectors.c and
# tests/reference/iquants.json instead: the i-quant and ternary types.
# Needs `npm install` in scripts/reference first (see README.md) and a C compiler.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
name=${1:-kquant}
case $name in kquant | iquant) ;; *) echo "usage: $0 [kquant|iquant]" >&2; exit 1 ;; esac
base=$(find -L "$here/node_modules" -path '*linux-x64/bins/linux-x64/libggml-base.so' | head -n 1)
if [ -z "$base" ]; then
  echo "libggml-base.so not found under $here/node_modules: run npm install there" >&2
  exit 1
fi
libdir=$(dirname "$base")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# -ffp-contract=off: the bulk input generator must round every float step
# separately (the test regenerates it). libggml-cpu-x64.so is the no-SIMD
# build: its generic dot products are the scalar formulas tinyllm reproduces.
# tests/support/quant_vectors.h: what the generators share with the tests.
${CC:-cc} -std=c11 -O1 -ffp-contract=off -Wall -Wextra -I "$root/tests/support" -o "$tmp/$name" "$here/${name}_vectors.c" \
  "$libdir/libggml-cpu-x64.so" "$libdir/libggml-base.so" -Wl,-rpath,"$libdir" -lm
out=tests/reference/${name}s.json
"$tmp/$name" >"$root/$out"
echo "wrote $out ($(wc -c <"$root/$out") bytes)" >&2

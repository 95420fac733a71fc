#!/usr/bin/env bash
# Produces tests/reference/iquants.json: ggml's i-quant and ternary bytes,
# dequantization hashes and dot products for a fixed input (see
# iquant_vectors.c), from the prebuilt ggml libraries of node-llama-cpp
# (linux-x64 package).
#   scripts/reference/iquant_vectors.sh
# Needs `npm install` in scripts/reference first (see README.md) and a C
# compiler. NODE_MODULES=dir points at another checkout's node_modules.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
modules=${NODE_MODULES:-$here/node_modules}
base=$(find "$modules" -path '*linux-x64/bins/linux-x64/libggml-base.so' 2>/dev/null | head -n 1)
if [ -z "$base" ]; then
  echo "libggml-base.so not found under $modules: run npm install in scripts/reference" >&2
  exit 1
fi
libdir=$(dirname "$base")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# libggml-cpu-x64.so is the no-SIMD build: its generic dot products are the
# scalar formulas tinyllm reproduces.
${CC:-cc} -std=c11 -O1 -ffp-contract=off -Wall -Wextra -o "$tmp/iquant_vectors" "$here/iquant_vectors.c" \
  "$libdir/libggml-cpu-x64.so" "$libdir/libggml-base.so" -Wl,-rpath,"$libdir" -lm
"$tmp/iquant_vectors" >"$root/tests/reference/iquants.json"
echo "wrote tests/reference/iquants.json ($(wc -c <"$root/tests/reference/iquants.json") bytes)" >&2

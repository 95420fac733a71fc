#!/usr/bin/env bash
# bench/build_llama_bench.sh — builds bench/llama_bench.c (llama.cpp's side of bench/compare) against the prebuilt
# llama.cpp libraries node-llama-cpp installs in scripts/reference/node_modules.
#
#   bench/build_llama_bench.sh [OUTPUT [SOURCE]]   (default output: build/llama_bench, git-ignored; default source:
#                                                    bench/llama_bench.c; bench/speculative.sh builds bench/llama_spec.c)
#
# The build itself (headers from the bundled llama.cpp source, linking with an rpath to the prebuilt libraries) is
# scripts/reference/build_llama_tool.sh, shared with scripts/reference/llama_ref.c.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/llama_bench}
SOURCE=${2:-$ROOT/bench/llama_bench.c}
exec "$ROOT/scripts/reference/build_llama_tool.sh" "$SOURCE" "$OUT" -lm

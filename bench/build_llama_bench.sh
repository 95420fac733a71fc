#!/usr/bin/env bash
# bench/build_llama_bench.sh — builds bench/llama_bench.c (llama.cpp's side of bench/compare) against the prebuilt
# llama.cpp libraries node-llama-cpp installs in scripts/reference/node_modules.
#
#   bench/build_llama_bench.sh [OUTPUT]      (default output: build/llama_bench, git-ignored)
#
# The headers come from the llama.cpp source node-llama-cpp bundles (llama/gitRelease.bundle), cloned into a temporary
# directory for the build and deleted afterwards, so they match the libraries exactly. The binary links
# libllama / libggml / libggml-base with an rpath to their directory, and loads the best CPU backend variant
# (libggml-cpu-zen4.so, ...) from that same directory at run time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/build/llama_bench}
NLC=$ROOT/scripts/reference/node_modules/node-llama-cpp
case $(uname -m) in
  x86_64) PLATFORM=linux-x64 ;;
  aarch64|arm64) PLATFORM=linux-arm64 ;;
  *) echo "build_llama_bench.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
BINS=$ROOT/scripts/reference/node_modules/@node-llama-cpp/$PLATFORM/bins/$PLATFORM
[ -f "$NLC/llama/gitRelease.bundle" ] && [ -d "$BINS" ] ||
  { echo "build_llama_bench.sh: node-llama-cpp is not installed: (cd scripts/reference && npm install)" >&2; exit 1; }
LIBLLAMA=$(ls "$BINS"/libllama.v*.so 2>/dev/null | head -1)
LIBGGML=$(ls "$BINS"/libggml.v*.so 2>/dev/null | head -1)
[ -n "$LIBLLAMA" ] && [ -n "$LIBGGML" ] && [ -f "$BINS/libggml-base.so" ] ||
  { echo "build_llama_bench.sh: no libllama/libggml/libggml-base in $BINS" >&2; exit 1; }
RELEASE=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' "$NLC/llama/binariesGithubRelease.json" | head -1)
NLC_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NLC/package.json" | head -1)

SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git clone --quiet --no-checkout "$NLC/llama/gitRelease.bundle" "$SRC/llama.cpp" 2>/dev/null
# Only the headers are needed.
git -C "$SRC/llama.cpp" checkout --quiet "$(git -C "$SRC/llama.cpp" rev-parse HEAD)" -- include ggml/include

mkdir -p "$(dirname "$OUT")"
gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I"$SRC/llama.cpp/include" -I"$SRC/llama.cpp/ggml/include" \
  -DLLAMA_BINS_DIR="\"$BINS\"" -DLLAMA_CPP_RELEASE="\"$RELEASE\"" -DNODE_LLAMA_CPP_VERSION="\"$NLC_VERSION\"" \
  -o "$OUT" "$ROOT/bench/llama_bench.c" \
  "$LIBLLAMA" "$LIBGGML" "$BINS/libggml-base.so" -Wl,-rpath,"$BINS"
echo "$OUT"

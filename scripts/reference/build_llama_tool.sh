#!/usr/bin/env bash
# scripts/reference/build_llama_tool.sh — builds one C program against the prebuilt llama.cpp libraries that
# node-llama-cpp installs in scripts/reference/node_modules (used for bench/llama_bench.c and
# scripts/reference/llama_ref.c).
#
#   scripts/reference/build_llama_tool.sh SOURCE.c OUTPUT [EXTRA_CC_ARGS...]
#
# The headers come from the llama.cpp source node-llama-cpp bundles (llama/gitRelease.bundle), cloned into a temporary
# directory for the build and deleted afterwards, so they match the libraries exactly. The binary links
# libllama / libggml / libggml-base with an rpath to their directory, and loads the best CPU backend variant
# (libggml-cpu-zen4.so, ...) from that same directory at run time. The program sees three macros: LLAMA_BINS_DIR (that
# directory), LLAMA_CPP_RELEASE (e.g. "v0.5.0") and NODE_LLAMA_CPP_VERSION (e.g. "3.22.1"). EXTRA_CC_ARGS (libraries,
# defines) go at the end of the compiler line. CC picks the compiler (default gcc). Prints OUTPUT when done.
set -euo pipefail

NAME=$(basename "$0")
[ $# -ge 2 ] || { echo "usage: $NAME SOURCE.c OUTPUT [EXTRA_CC_ARGS...]" >&2; exit 1; }
SOURCE=$1
OUT=$2
shift 2
[ -f "$SOURCE" ] || { echo "$NAME: $SOURCE: no such file" >&2; exit 1; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NLC=$ROOT/scripts/reference/node_modules/node-llama-cpp
case $(uname -m) in
  x86_64) PLATFORM=linux-x64 ;;
  aarch64|arm64) PLATFORM=linux-arm64 ;;
  *) echo "$NAME: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
BINS=$ROOT/scripts/reference/node_modules/@node-llama-cpp/$PLATFORM/bins/$PLATFORM
[ -f "$NLC/llama/gitRelease.bundle" ] && [ -d "$BINS" ] ||
  { echo "$NAME: node-llama-cpp is not installed: (cd scripts/reference && npm install)" >&2; exit 1; }
LIBLLAMA=$(ls "$BINS"/libllama.v*.so 2>/dev/null | head -1)
LIBGGML=$(ls "$BINS"/libggml.v*.so 2>/dev/null | head -1)
[ -n "$LIBLLAMA" ] && [ -n "$LIBGGML" ] && [ -f "$BINS/libggml-base.so" ] ||
  { echo "$NAME: no libllama/libggml/libggml-base in $BINS" >&2; exit 1; }
RELEASE=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' "$NLC/llama/binariesGithubRelease.json" | head -1)
NLC_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$NLC/package.json" | head -1)

SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git clone --quiet --no-checkout "$NLC/llama/gitRelease.bundle" "$SRC/llama.cpp" 2>/dev/null
# Only the headers are needed.
git -C "$SRC/llama.cpp" checkout --quiet "$(git -C "$SRC/llama.cpp" rev-parse HEAD)" -- include ggml/include

mkdir -p "$(dirname "$OUT")"
"${CC:-gcc}" -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I"$SRC/llama.cpp/include" -I"$SRC/llama.cpp/ggml/include" \
  -DLLAMA_BINS_DIR="\"$BINS\"" -DLLAMA_CPP_RELEASE="\"$RELEASE\"" -DNODE_LLAMA_CPP_VERSION="\"$NLC_VERSION\"" \
  -o "$OUT" "$SOURCE" \
  "$LIBLLAMA" "$LIBGGML" "$BINS/libggml-base.so" -Wl,-rpath,"$BINS" "$@"
echo "$OUT"

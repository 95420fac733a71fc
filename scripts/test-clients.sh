#!/usr/bin/env bash
# Drives `tinyllm serve` with the official `openai` and `ollama` npm packages,
# unchanged (tests/server/clients_test.mjs): a streamed chat, a whole answer
# and embeddings through each. Not part of the default tests: it installs the
# packages from the npm registry into a temporary directory.
#
#   scripts/test-clients.sh [TINYLLM_BINARY]     (default build/tinyllm)
set -euo pipefail
cd "$(dirname "$0")/.."
TINYLLM=${1:-build/tinyllm}
SHARED=${TINYLLM_SHARED:-../shared}
[ -e "$SHARED/models/stories260K.gguf" ] || { echo "no $SHARED/models/stories260K.gguf (set TINYLLM_SHARED)" >&2; exit 1; }
TMP=$(mktemp -d)
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "installing the openai and ollama packages into $TMP ..."
npm install --prefix "$TMP" --no-save --no-audit --no-fund --loglevel=error openai ollama >/dev/null
echo "openai $(node -p "require('$TMP/node_modules/openai/package.json').version"), ollama $(node -p "require('$TMP/node_modules/ollama/package.json').version")"

mkdir -p "$TMP/models"
cp "$SHARED/models/stories260K.gguf" "$TMP/models/stories260K.gguf"
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 42 \
  --vocab "$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf" -o "$TMP/models/bert-tiny.gguf" >/dev/null 2>&1

"$TINYLLM" serve --port 0 --models "$TMP/models" >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER=$!
URL=
for _ in $(seq 100); do
  URL=$(grep -oE 'http://[^ ]+:[0-9]+' "$TMP/server.out" | head -1 || true)
  [ -n "$URL" ] && break
  kill -0 "$SERVER" 2>/dev/null || break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start: $(cat "$TMP/server.err")" >&2; exit 1; }
echo "server at $URL"

NODE_PATH="$TMP/node_modules" node tests/server/clients_test.mjs "$URL" stories260K bert-tiny

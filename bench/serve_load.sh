#!/usr/bin/env bash
# bench/serve_load.sh — what continuous batching buys: starts `tinyllm serve --parallel 4` on a SmolLM2-135M-shape
# model (random weights, written by `tinyllm synth` into bench/models/ when missing), then with
# bench/serve_load.mjs measures the aggregate generated tokens/s of 1 streaming client and of 4 (printing the
# ratio), and finally 32 clients for 60 s with the server's memory sampled every second. Not part of the test
# suite: run it by hand on a quiet machine (see docs/benchmarks.md).
#
#   bench/serve_load.sh [--type q8_0] [--seconds 20] [--long-seconds 60] [--threads 2] [--max-tokens 128]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TINYLLM=$ROOT/build/tinyllm
TYPE=q8_0 SECONDS_EACH=20 LONG_SECONDS=60 THREADS=2 MAX_TOKENS=128
while [ $# -gt 0 ]; do
  case $1 in
    --type) TYPE=$2 ;; --seconds) SECONDS_EACH=$2 ;; --long-seconds) LONG_SECONDS=$2 ;;
    --threads) THREADS=$2 ;; --max-tokens) MAX_TOKENS=$2 ;;
    *) echo "serve_load.sh: unknown option $1" >&2; exit 1 ;;
  esac
  shift 2
done
[ -x "$TINYLLM" ] || { echo "serve_load.sh: build first ($TINYLLM is missing)" >&2; exit 1; }
MODEL=$ROOT/bench/models/smollm2-135m-$TYPE.gguf
[ -f "$MODEL" ] || (cd "$ROOT" && "$TINYLLM" synth --preset smollm2-135m --type "$TYPE" -o "$MODEL")
NAME=$(basename "$MODEL" .gguf)

LOG=$(mktemp)
"$TINYLLM" serve --port 0 -m "$MODEL" --parallel 4 -t "$THREADS" -c 1024 --queue 64 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$LOG" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$LOG" | head -1)
[ -n "$URL" ] || { echo "serve_load.sh: the server did not start: $(cat "$LOG")" >&2; exit 1; }

load() { node "$ROOT/bench/serve_load.mjs" --url "$URL" --model "$NAME" --max-tokens "$MAX_TOKENS" "$@"; }
load --clients 1 --seconds 3 >/dev/null   # loads the model and warms up
one=$(load --clients 1 --seconds "$SECONDS_EACH")
four=$(load --clients 4 --seconds "$SECONDS_EACH")
echo "1 client:  $one"
echo "4 clients: $four"
node -e 'const a = JSON.parse(process.argv[1]), b = JSON.parse(process.argv[2]);
  console.log(`aggregate tokens/s: 4 streams ${b.aggregate_tokens_per_second} / 1 stream ${a.aggregate_tokens_per_second} = ${(b.aggregate_tokens_per_second / a.aggregate_tokens_per_second).toFixed(2)}x`)' "$one" "$four"
echo "32 clients for ${LONG_SECONDS}s:"
load --clients 32 --seconds "$LONG_SECONDS" --pid "$SERVER"

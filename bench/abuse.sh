#!/usr/bin/env bash
# bench/abuse.sh — can an attacker exhaust `tinyllm serve`? Starts the release server (build/tinyllm) on
# stories260K.gguf from $TINYLLM_SHARED with its default connection limits, and runs bench/abuse.mjs against it
# from loopback addresses only: 1,000 slow clients, 10,000 connect-and-drop, malformed HTTP, JSON bombs, then
# the template bombs, with a normal client asking throughout (p50/p99) and the server's RSS, descriptors and
# threads reported before, during and after; PASS/FAIL lines at the end (RSS back within 10%). Bounded in count
# and time (a few minutes). Not part of the test suite.
#
#   TINYLLM_SHARED=/path/to/shared bench/abuse.sh [--slow N] [--drops N] [extra serve options...]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TINYLLM=$ROOT/build/tinyllm
SHARED=${TINYLLM_SHARED:-$ROOT/../shared}
MODEL=$SHARED/models/stories260K.gguf
ABUSE_ARGS=()
while [ $# -gt 0 ]; do
  case $1 in
    --slow | --drops) ABUSE_ARGS+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done
[ -x "$TINYLLM" ] || { echo "abuse.sh: build first ($TINYLLM is missing)" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "abuse.sh: $MODEL is missing (set TINYLLM_SHARED)" >&2; exit 1; }
command -v node >/dev/null || { echo "abuse.sh: node is not installed" >&2; exit 1; }

LOG=$(mktemp -d)
"$TINYLLM" serve --port 0 -m "$MODEL" "$@" >"$LOG/out" 2>"$LOG/err" &
SERVER=$!
stop_server() {
  kill -TERM "$SERVER" 2>/dev/null || return 0
  # A handler stuck in a template bomb can keep the server from stopping: give it 15 s.
  for _ in $(seq 150); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER" 2>/dev/null; then
    echo "abuse.sh: the server did not stop within 15 s of SIGTERM; killing it"
    kill -KILL "$SERVER" 2>/dev/null
  fi
  wait "$SERVER" 2>/dev/null
  echo "abuse.sh: server exit code $?"
}
trap 'stop_server; rm -rf "$LOG"' EXIT
for _ in $(seq 300); do grep -q "listening on" "$LOG/out" && break; kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$LOG/out" | head -1)
[ -n "$URL" ] || { echo "abuse.sh: the server did not start: $(cat "$LOG/err")" >&2; exit 1; }

node "$ROOT/bench/abuse.mjs" --url "$URL" --pid "$SERVER" --model stories260K "${ABUSE_ARGS[@]}"
code=$?
if [ -s "$LOG/err" ]; then echo "server stderr (last 20 lines):"; tail -20 "$LOG/err"; fi
exit $code

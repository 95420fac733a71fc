#!/usr/bin/env bash
# test-browser.sh — runs the web chat page's browser test
# (tests/browser/chat_page.mjs) in headless Chromium against a real
# `tinyllm serve` with two tiny synthetic chat models, a and b, and an
# embedding model, 0-minilm, named to sort first (the page must not pick it
# for chat); a has its own default max tokens (a.json); with the shared
# models, a mock Hub (tests/hub/mock_hub.mjs) that the Models tab pulls from
# (serve --allow-pull --hub-endpoint, a fresh store); and a search database
# of three small files indexed with 0-minilm (serve --db: the Documents tab
# and answers from documents; the mock has none). Not part of the
# default test run (scripts/test.sh); builds nothing.
#
#   scripts/test-browser.sh [TINYLLM]   the binary (default build/tinyllm)
#   scripts/test-browser.sh --mock      against tests/browser/mock_server.mjs
#
#   ARTIFACTS      screenshots (default build/browser-artifacts)
#   CHROMIUM       the browser (default: chromium on PATH)
#   PLAYWRIGHT_DIR npm prefix holding playwright-core (default /tmp/tinyllm-playwright)
# Exits 77 (skipped) when Chromium is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=real
binary=build/tinyllm
case "${1:-}" in
  --mock) mode=mock ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  "") ;;
  *) binary=$1 ;;
esac

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$chromium" || ! -x "$chromium" ]]; then
  echo "test-browser: Chromium not found. Install it with:" >&2
  echo "  apt-get update && apt-get install -y chromium" >&2
  echo "(or set CHROMIUM=/path/to/chromium). Skipping." >&2
  exit 77
fi
if ! command -v node >/dev/null; then
  echo "test-browser: node (18+) is needed" >&2
  exit 77
fi

# playwright-core drives the system Chromium; it downloads no browser.
playwright_dir=${PLAYWRIGHT_DIR:-/tmp/tinyllm-playwright}
export NODE_PATH="$playwright_dir/node_modules${NODE_PATH:+:$NODE_PATH}"
if ! node -e 'require("playwright-core")' 2>/dev/null; then
  echo "== installing playwright-core into $playwright_dir"
  mkdir -p "$playwright_dir"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$playwright_dir" --no-audit --no-fund \
    --loglevel=error playwright-core >/dev/null
fi

artifacts=${ARTIFACTS:-build/browser-artifacts}
mkdir -p "$artifacts"
rm -f "$artifacts"/*.png

a_num_predict=200
tmp=$(mktemp -d)
server_pid=""
hub_pid=""
pull_model=""
docs=""
cleanup() {
  for pid in "$server_pid" "$hub_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ $mode == mock ]]; then
  echo "== starting the mock server"
  node tests/browser/mock_server.mjs --port 0 --models a,b --embed-models 0-minilm \
    --options "a={\"num_predict\":$a_num_predict}" >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
else
  if [[ ! -x "$binary" ]]; then
    echo "test-browser: no tinyllm binary at $binary (build it first, or pass its path)" >&2
    exit 1
  fi
  echo "== making three tiny models (a, b; the embedding model 0-minilm)"
  mkdir -p "$tmp/models"
  # synth runs from the repo root so that ../shared (the vocabularies) resolves.
  "$binary" synth --preset smollm2-135m --tiny --type q8_0 -o "$tmp/models/a.gguf" >/dev/null
  "$binary" synth --preset smollm2-135m --tiny --type q8_0 --seed 7 -o "$tmp/models/b.gguf" >/dev/null
  "$binary" synth --preset all-minilm-l6-v2 --tiny -o "$tmp/models/0-minilm.gguf" >/dev/null
  # a's own default (shown by the page from /props?model=a; keeps the first reply short).
  echo "{\"options\": {\"num_predict\": $a_num_predict}}" >"$tmp/models/a.json"
  # The Models tab stage pulls test/ui-GGUF from the mock Hub into a fresh store.
  pull_args=()
  pull_file=${TINYLLM_SHARED:-../shared}/models/stories260K-v2-q8_0.gguf
  if [[ -f "$pull_file" ]]; then
    echo "{\"repos\": {\"test/ui-GGUF\": {\"slow_ms\": 40, \"files\": {\"ui-Q8_0.gguf\": \"$(realpath "$pull_file")\"}}}}" \
      >"$tmp/hub.json"
    node tests/hub/mock_hub.mjs "$tmp/hub.json" >"$tmp/hub.out" 2>&1 &
    hub_pid=$!
    for _ in $(seq 1 300); do grep -q '^listening ' "$tmp/hub.out" && break; sleep 0.1; done
    pull_args=(--allow-pull --hub-endpoint "http://127.0.0.1:$(sed -n 's/^listening //p' "$tmp/hub.out")")
    pull_model=test/ui-GGUF
  else
    echo "== no $pull_file: the Models tab stage is skipped"
  fi
  echo "== indexing three small files with 0-minilm (the Documents tab)"
  mkdir -p "$tmp/docs"
  printf 'Cats are small furry animals that purr.\n\nThey like to sleep in the sun.\n' >"$tmp/docs/cats.txt"
  printf '# Rockets\n\nA rocket engine burns fuel and oxidizer to make thrust.\n' >"$tmp/docs/rockets.md"
  printf 'Bread is baked from flour, water and yeast.\n' >"$tmp/docs/bread.txt"
  "$binary" index --db "$tmp/docs.db" -m "$tmp/models/0-minilm.gguf" "$tmp/docs" >/dev/null
  docs=1
  echo "== starting tinyllm serve"
  TINYLLM_MODELS=$tmp/store "$binary" serve --port 0 --models "$tmp/models" --db "$tmp/docs.db" "${pull_args[@]}" \
    >"$tmp/server.out" 2>"$tmp/server.err" &
  server_pid=$!
fi

# The server prints "tinyllm serve: listening on http://HOST:PORT (N models)".
base_url=""
for _ in $(seq 1 300); do
  base_url=$(sed -n 's|.*listening on \(http://[^ ]*\).*|\1|p' "$tmp/server.out" | head -n 1)
  [[ -n "$base_url" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "test-browser: the server exited:" >&2
    cat "$tmp/server.out" "$tmp/server.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$base_url" ]]; then
  echo "test-browser: the server did not say where it listens within 30 s" >&2
  cat "$tmp/server.out" "$tmp/server.err" >&2
  exit 1
fi
echo "== server at $base_url; screenshots in $artifacts"

status=0
DOCS=$docs PULL_MODEL=$pull_model EMBED_MODEL=0-minilm A_NUM_PREDICT=$a_num_predict BASE_URL=$base_url CHROMIUM=$chromium ARTIFACTS=$artifacts node tests/browser/chat_page.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "== server stderr (last lines):" >&2
  tail -n 20 "$tmp/server.err" >&2
fi
exit $status

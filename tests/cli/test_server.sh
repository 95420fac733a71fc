# tinyllm serve: every HTTP endpoint and error (tests/server/api_test.mjs), on
# stories260K.gguf and random-weight models (a tiny smollm2 and a tiny BERT).
# Starts the server on a free port, runs the node tests against it, stops it.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf \
  tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }

MODELS=$TMP/models
mkdir -p "$MODELS"
"$TINYLLM" synth --preset smollm2-135m --tiny --type q8_0 --seed 1 \
  --vocab "$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf" -o "$MODELS/smol-tiny.gguf" 2>/dev/null \
  || { echo "FAIL: synth smollm2"; exit 1; }
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 42 \
  --vocab "$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf" -o "$MODELS/bert-tiny.gguf" 2>/dev/null \
  || { echo "FAIL: synth bert"; exit 1; }
# A model with defaults beside it: a system prompt and options.
cp "$SHARED/models/stories260K.gguf" "$MODELS/story-sys.gguf"
cat >"$MODELS/story-sys.json" <<'EOF'
{"system": "You are a storyteller who writes short, happy stories for small children.",
 "options": {"num_predict": 3, "temperature": 0.5}}
EOF

# A model whose NAME.json names a template file that can render tools.
cp "$SHARED/models/stories260K.gguf" "$MODELS/story-tpl.gguf"
echo '{"template": "story-tpl.jinja"}' >"$MODELS/story-tpl.json"
printf '%s' '{% if tools %}Tools: {{ tools | length }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}' \
  >"$MODELS/story-tpl.jinja"

# start_server OUT ARGS...: starts `tinyllm serve --port 0 ARGS` (stdout in $TMP/OUT.out, stderr in
# $TMP/OUT.err); sets STARTED (its pid) and STARTED_URL, read from "listening on http://HOST:PORT (N models)".
start_server() {
  local out=$1; shift
  "$TINYLLM" serve --port 0 "$@" >"$TMP/$out.out" 2>"$TMP/$out.err" &
  STARTED=$!
  STARTED_URL=
  listening() { STARTED_URL=$(grep -oE 'http://[^ ]+:[0-9]+' "$TMP/$out.out" | head -1); [ -n "$STARTED_URL" ]; }
  wait_for --pid $STARTED 60 listening  # up to 60 s (times TL_TIME_SCALE): a busy machine, a sanitizer build
}
SERVER2=
trap 'kill $SERVER $SERVER2 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
start_server server -c 128 --parallel 2 --models "$MODELS" -m "$SHARED/models/stories260K.gguf"
SERVER=$STARTED URL=$STARTED_URL
[ -n "$URL" ] || { echo "FAIL: the server did not start: $(cat "$TMP/server.err")"; exit 1; }
grep -q "(5 models)" "$TMP/server.out" && pass "5 models listed" || fail "listing: $(cat "$TMP/server.out")"

node "$(dirname "$0")/../server/api_test.mjs" "$URL" || fail "api_test.mjs (see above)"
# Options without effect are logged once per model (api_test.mjs sends them twice).
for option in num_thread not_an_option; do
  n=$(grep -c "model 'stories260K': option '$option' is ignored: " "$TMP/server.err")
  [ "$n" = 1 ] && pass "ignored option $option logged once" || fail "ignored option $option logged $n times"
done

# run_suite NAME ARGS...: a second server with ARGS, and the api_test.mjs suite NAME against it.
run_suite() {
  local suite=$1; shift
  start_server server2 "$@"
  SERVER2=$STARTED
  if [ -n "$STARTED_URL" ]; then
    node "$(dirname "$0")/../server/api_test.mjs" "$STARTED_URL" "$suite" || fail "api_test.mjs $suite (see above)"
    kill -TERM $SERVER2
    wait $SERVER2 || fail "the $suite server's exit code $?"
  else
    fail "the $suite server did not start: $(cat "$TMP/server2.err")"
  fi
}
# One slot and one queue place: a full queue is a 503.
run_suite busy --parallel 1 --queue 1 -c 4096 --models "$MODELS" -m "$SHARED/models/stories260K.gguf"
# One model loaded at a time: the least recently used idle one makes room.
run_suite lru --max-loaded 1 -c 4096 --models "$MODELS"  # a large context: the held reply lasts

# The server survived everything and stops cleanly on SIGTERM.
kill -0 $SERVER 2>/dev/null && pass "server still running" || fail "server died: $(tail -5 "$TMP/server.err")"
kill -TERM $SERVER
wait $SERVER
code=$?
[ "$code" = 0 ] && pass "exit code 0 after SIGTERM" || fail "exit code $code after SIGTERM"
finish

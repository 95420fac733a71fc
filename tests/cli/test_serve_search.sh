# tinyllm serve --db FILE: /api/search, /api/search/info and /api/chat's "documents" over a small corpus indexed
# with the tiny all-minilm-l6-v2 (synth), with a reranker and stories260K; a server without --db, one whose
# embedding model is gone and one whose model file has other weights (tests/server/search_api_test.mjs), and the
# bad --db at start.
source "$(dirname "$0")/lib.sh"
VOCAB=tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
need_shared "$VOCAB" models/stories260K.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
synth() { # synth PRESET SEED OUT
  "$TINYLLM" synth --preset "$1" --tiny --type f32 --seed "$2" --vocab "$SHARED/$VOCAB" -o "$3" 2>/dev/null \
    || { echo "FAIL: synth $1"; exit 1; }
}
M=$TMP/bert.gguf
synth all-minilm-l6-v2 42 "$M"
synth ms-marco-minilm-l6-v2 42 "$TMP/rerank-tiny.gguf"

D=$TMP/docs
mkdir -p "$D/sub"
printf 'Cats are small furry animals that purr.\n\nThey like to sleep in the sun all afternoon.\n' >"$D/cats.txt"
printf '# Rockets\n\nA rocket engine burns fuel and oxidizer to make thrust.\n' >"$D/rockets.md"
printf '# Bread\n\nBread is baked from flour, water and yeast.\n' >"$D/bread.md"
printf 'the ocean is deep and blue' >"$D/ocean.txt"
printf 'Dogs bark at the mailman and fetch sticks.\n' >"$D/sub/dogs.txt"
printf 'int main(void) { return 0; } /* the compiler turns source into programs */\n' >"$D/sub/prog.c"
DB=$TMP/index.db
"$TINYLLM" index --db "$DB" -m "$M" "$D" >/dev/null 2>"$TMP/err.txt" || fail "index exited $? ($(cat "$TMP/err.txt"))"
QUERY='furry cats sleeping' # keep in sync with search_api_test.mjs
"$TINYLLM" search --db "$DB" --json -k 3 "$QUERY" >"$TMP/cli.json" || fail "search --json exited $?"

# A database whose model file is deleted after indexing, and one whose model file is replaced by other weights.
cp "$M" "$TMP/gone.gguf"
"$TINYLLM" index --db "$TMP/gone.db" -m "$TMP/gone.gguf" "$D/cats.txt" >/dev/null || fail "index gone.db"
rm "$TMP/gone.gguf"
cp "$M" "$TMP/swap.gguf"
"$TINYLLM" index --db "$TMP/swap.db" -m "$TMP/swap.gguf" "$D/cats.txt" >/dev/null || fail "index swap.db"
synth all-minilm-l6-v2 43 "$TMP/swap.gguf"

# A bad --db: one line on stderr, exit 1.
expect_error "--db of a missing file" "--db $TMP/nope.db" -- "$TINYLLM" serve --port 0 --db "$TMP/nope.db" \
  -m "$SHARED/models/stories260K.gguf"
printf 'not a database\n' >"$TMP/text.db"
expect_error "--db of a file that is not a database" "--db $TMP/text.db" -- "$TINYLLM" serve --port 0 \
  --db "$TMP/text.db" -m "$SHARED/models/stories260K.gguf"

trap 'stop_servers; rm -rf "$TMP"' EXIT
CHAT=$SHARED/models/stories260K.gguf
if start_server main --db "$DB" -m "$CHAT" -m "$TMP/rerank-tiny.gguf" && MAIN=$PORT && MAIN_PID=$PID &&
  start_server nodb -m "$CHAT" && NODB=$PORT &&
  start_server gone --db "$TMP/gone.db" -m "$CHAT" && GONE=$PORT &&
  start_server swap --db "$TMP/swap.db" -m "$CHAT" && SWAP=$PORT; then
  grep -q "(3 models)" "$TMP/main.out" && pass "the database's model is served too (3 models)" \
    || fail "main: $(cat "$TMP/main.out")"
  node "$(dirname "$0")/../server/search_api_test.mjs" "http://127.0.0.1:$MAIN" "$TMP/cli.json" \
    "http://127.0.0.1:$NODB" "http://127.0.0.1:$GONE" "http://127.0.0.1:$SWAP" || fail "search_api_test.mjs (see above)"
  kill -TERM "$MAIN_PID"
  wait "$MAIN_PID" && pass "server exit code 0 after SIGTERM" || fail "server exit code $?"
fi
finish

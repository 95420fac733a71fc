# tinyllm rerank and the server's /v1/rerank (tests/server/rerank_test.mjs), on the tiny ms-marco-minilm-l6-v2
# (synth, seed 42, as tests/reference/rerank-tiny-f32.json was made by llama.cpp): scores as llama.cpp's, the
# output formats, documents from a file, and every error path.
source "$(dirname "$0")/lib.sh"
VOCAB=tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
need_shared "$VOCAB" models/stories260K.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
MODELS=$TMP/models
mkdir -p "$MODELS"
M=$MODELS/rerank-tiny.gguf
"$TINYLLM" synth --preset ms-marco-minilm-l6-v2 --tiny --type f32 --seed 42 --vocab "$SHARED/$VOCAB" -o "$M" \
  2>/dev/null || { echo "FAIL: synth reranker"; exit 1; }
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 42 --vocab "$SHARED/$VOCAB" \
  -o "$MODELS/bert-tiny.gguf" 2>/dev/null || { echo "FAIL: synth bert"; exit 1; }
REF=tests/reference/rerank-tiny-f32.json

# Cases 0 and 1 of the reference share a query: their documents scored together, as llama.cpp scored them.
q=$(json_get "$REF" "j.cases[0].query")
d0=$(json_get "$REF" "j.cases[0].document")
d1=$(json_get "$REF" "j.cases[1].document")
"$TINYLLM" rerank -m "$M" --query "$q" --json "$d0" "$d1" >"$TMP/ref.json" 2>"$TMP/err.txt" || fail "rerank exited $?"
[ ! -s "$TMP/err.txt" ] && pass "nothing on stderr" || fail "stderr: $(cat "$TMP/err.txt")"
ok=$(node -e "
  const fs = require('fs');
  const mine = JSON.parse(fs.readFileSync('$TMP/ref.json', 'utf8')), ref = JSON.parse(fs.readFileSync('$REF', 'utf8'));
  const ok = mine.results.length === 2 && mine.results.every(r => Math.abs(r.relevance_score - ref.cases[r.index].embedding[0]) < 1e-3)
    && mine.usage.prompt_tokens === ref.cases[0].tokens.length + ref.cases[1].tokens.length;
  console.log(ok ? 'ok' : JSON.stringify(mine));")
[ "$ok" = ok ] && pass "scores and token counts as llama.cpp's" || fail "scores vs llama.cpp: $ok"

# Plain output: score<TAB>index<TAB>document, best first; newlines in a document printed as spaces.
"$TINYLLM" rerank -m "$M" -q "what is a cat?" "a cat sat on the mat" "the weather is nice" $'two\nlines' \
  >"$TMP/plain.txt" || fail "plain rerank exited $?"
[ "$(wc -l <"$TMP/plain.txt")" = 3 ] && pass "one line per document" || fail "lines: $(cat "$TMP/plain.txt")"
awk -F'\t' 'NF != 3 || $1 !~ /^-?[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ || $2 !~ /^[0-2]$/ { bad = 1 } END { exit bad }' "$TMP/plain.txt" \
  && pass "score<TAB>index<TAB>document" || fail "format: $(cat "$TMP/plain.txt")"
sort -t$'\t' -k1,1 -g -r "$TMP/plain.txt" | cmp -s - "$TMP/plain.txt" && pass "best first" || fail "not sorted"
grep -q $'\ttwo lines$' "$TMP/plain.txt" && pass "a newline printed as a space" || fail "newline: $(cat "$TMP/plain.txt")"
"$TINYLLM" rerank -m "$M" -q "what is a cat?" --top-n 1 "a cat sat on the mat" "the weather is nice" $'two\nlines' \
  >"$TMP/top.txt"
[ "$(cat "$TMP/top.txt")" = "$(head -1 "$TMP/plain.txt")" ] && pass "--top-n 1: the best one" || fail "--top-n 1"

# Documents from a file (blank lines skipped, CRLF endings) and stdin give the same scores as arguments.
printf 'a cat sat on the mat\r\n\nthe weather is nice\n' >"$TMP/docs.txt"
"$TINYLLM" rerank -m "$M" -q "what is a cat?" -f "$TMP/docs.txt" >"$TMP/file.txt"
"$TINYLLM" rerank -m "$M" -q "what is a cat?" "a cat sat on the mat" "the weather is nice" >"$TMP/args.txt"
cmp -s "$TMP/file.txt" "$TMP/args.txt" && pass "-f FILE" || fail "-f FILE: $(cat "$TMP/file.txt")"
"$TINYLLM" rerank -m "$M" -q "what is a cat?" -f - <"$TMP/docs.txt" >"$TMP/stdin.txt"
cmp -s "$TMP/stdin.txt" "$TMP/args.txt" && pass "-f - (stdin)" || fail "-f -: $(cat "$TMP/stdin.txt")"

# Errors: one line on stderr, exit 1.
expect_error "no model" "no model given" -- "$TINYLLM" rerank -q x doc
expect_error "no query" "no query given" -- "$TINYLLM" rerank -m "$M" doc
expect_error "no documents" "no documents given" -- "$TINYLLM" rerank -m "$M" -q x
expect_error "empty documents file" "no documents given" -- "$TINYLLM" rerank -m "$M" -q x -f /dev/null
expect_error "missing documents file" "cannot open documents file" -- "$TINYLLM" rerank -m "$M" -q x -f "$TMP/nope.txt"
expect_error "missing model" "nope" -- "$TINYLLM" rerank -m "$TMP/nope.gguf" -q x doc
expect_error "not a reranker" "bert-tiny.gguf is not a reranker" -- \
  "$TINYLLM" rerank -m "$MODELS/bert-tiny.gguf" -q x doc
expect_error "a generator is not a reranker" "is not a reranker" -- \
  "$TINYLLM" rerank -m "$SHARED/models/stories260K.gguf" -q x doc
expect_error "pair longer than the context" "document 1: the query and the document are more than 16 tokens" -- \
  "$TINYLLM" rerank -m "$M" -c 16 -q x short "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
expect_error "--top-n 0" "top-n" -- "$TINYLLM" rerank -m "$M" -q x --top-n 0 doc

# The server: /v1/rerank and its aliases, shapes and errors, with the CLI's scores (rerank_test.mjs).
# Keep QUERY and DOCS in sync with tests/server/rerank_test.mjs.
"$TINYLLM" rerank -m "$M" --json -q 'How many people live in Berlin?' \
  'Berlin has a population of 3,520,031 registered inhabitants.' \
  'New York City is famous for the Metropolitan Museum of Art.' hi >"$TMP/cli.json" || fail "rerank --json"
trap 'stop_servers; rm -rf "$TMP"' EXIT
if start_server server --models "$MODELS" -m "$SHARED/models/stories260K.gguf"; then
  node "$(dirname "$0")/../server/rerank_test.mjs" "http://127.0.0.1:$PORT" "$TMP/cli.json" \
    || fail "rerank_test.mjs (see above)"
  kill -TERM "$PID"
  wait "$PID" && pass "server exit code 0 after SIGTERM" || fail "server exit code $?"
fi
finish

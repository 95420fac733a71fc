# tinyllm ask and search --rerank-model: ask end to end on stories260K.gguf with a random-weight bert index over a
# small hand-made corpus (the retrieved chunks reach the prompt, the sources are printed with their paths and lines,
# --json, fitting a small context), reranking (the order is `tinyllm rerank`'s for the same texts) and every error.
source "$(dirname "$0")/lib.sh"
VOCAB=tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
need_shared "$VOCAB" models/stories260K.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
CHAT=$SHARED/models/stories260K.gguf
M=$TMP/bert.gguf
R=$TMP/rerank.gguf
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 42 --vocab "$SHARED/$VOCAB" -o "$M" 2>/dev/null \
  || { echo "FAIL: synth bert"; exit 1; }
"$TINYLLM" synth --preset ms-marco-minilm-l6-v2 --tiny --type f32 --seed 42 --vocab "$SHARED/$VOCAB" -o "$R" \
  2>/dev/null || { echo "FAIL: synth reranker"; exit 1; }

D=$TMP/docs
mkdir -p "$D/sub"
printf 'Cats are small furry animals that purr.\nThey sleep in the sun.\n' >"$D/cats.txt"
printf '# Rockets\n\nA rocket engine burns fuel to make thrust.\n' >"$D/rockets.md"
printf 'Bread is baked in a hot oven.\n' >"$D/sub/bread.md"
printf 'The ocean is deep and blue.\n' >"$D/sub/ocean.txt"
printf 'Volcanoes erupt with molten lava.\n' >"$D/volcano.md"
DB=$TMP/docs.db
"$TINYLLM" index --db "$DB" -m "$M" "$D" >/dev/null 2>"$TMP/err.txt" || { echo "FAIL: index: $(cat "$TMP/err.txt")"; exit 1; }

# The retrieved chunks reach the prompt, numbered, with path:lines; the question comes after them.
"$TINYLLM" ask --db "$DB" -m "$CHAT" --mode text -k 2 -n 8 --seed 1 --verbose-prompt "rocket thrust" \
  >"$TMP/out.txt" 2>"$TMP/err.txt" || fail "ask exited $? ($(cat "$TMP/err.txt"))"
grep -qF "[1] $D/rockets.md:1-3" "$TMP/err.txt" && grep -qF "A rocket engine burns fuel to make thrust." "$TMP/err.txt" \
  && pass "the chunk and its source reach the prompt" || fail "prompt: $(cat "$TMP/err.txt")"
grep -q "Question: rocket thrust" "$TMP/err.txt" && pass "the question in the prompt" || fail "no question: $(cat "$TMP/err.txt")"
grep -qF "as [n]" "$TMP/err.txt" && pass "the system message asks for citations" || fail "no system message"
[ "$(sed -n '/^Sources:$/,$p' "$TMP/out.txt" | sed 's/ (cited)$//')" = "Sources:
[1] $D/rockets.md:1-3" ] && pass "Sources: [1] path:first-last" || fail "sources: $(cat "$TMP/out.txt")"
grep -q "tokens.*tok/s" "$TMP/err.txt" && pass "metrics line on stderr" || fail "no metrics: $(cat "$TMP/err.txt")"

# Two sources, numbered in rank order; --json.
"$TINYLLM" ask --db "$DB" -m "$CHAT" --mode hybrid -k 2 -n 8 --temp 0 --top-k 1 --json "cats purr in the sun" \
  >"$TMP/a.json" 2>"$TMP/err.txt" || fail "ask --json exited $? ($(cat "$TMP/err.txt"))"
[ "$(json_get "$TMP/a.json" '[typeof j.answer, j.sources.length, j.sources.map(s => s.n).join(","),
    j.sources[0].path.endsWith("/cats.txt"), j.sources[0].lines, typeof j.sources[0].score, j.timings.predicted_n <= 8,
    typeof j.timings.retrieve_ms].join(" ")')" = "string 2 1,2 true 1-2 number true number" ] \
  && pass "--json: answer, sources, timings" || fail "json: $(cat "$TMP/a.json")"
"$TINYLLM" search --db "$DB" -k 2 --json "cats purr in the sun" >"$TMP/s.json"
[ "$(json_get "$TMP/s.json" 'j.results.map(r => r.path).join(" ")')" = "$(json_get "$TMP/a.json" 'j.sources.map(s => s.path).join(" ")')" ] \
  && pass "the sources are search's results" || fail "sources vs search: $(cat "$TMP/s.json")"

# A small context: the lowest-ranked chunks are dropped, then the best one is cut to fit.
"$TINYLLM" ask --db "$DB" -m "$CHAT" --mode vector -k 5 -c 512 -n 100 --verbose-prompt "rocket thrust" \
  >"$TMP/out.txt" 2>"$TMP/err.txt" || fail "small context: exited $? ($(cat "$TMP/err.txt"))"
n_used=$(grep -c '^\[[0-9]\] ' "$TMP/out.txt")
[ "$n_used" -ge 1 ] && [ "$n_used" -lt 5 ] && grep -q "the context of 512 tokens holds $n_used of the 5 chunks" "$TMP/err.txt" \
  && pass "chunks dropped to fit the context ($n_used kept)" || fail "fit: $n_used; $(cat "$TMP/err.txt")"
[ "$(grep -c '^\[[0-9]\] /' "$TMP/err.txt")" = "$n_used" ] && pass "the prompt holds the sources listed" \
  || fail "prompt sources: $(cat "$TMP/err.txt")"
printf 'Stars %.0s' $(seq 400) >"$D/stars.txt"
"$TINYLLM" index --db "$DB" -m "$M" "$D" >/dev/null 2>&1 || fail "re-index exited $?"
"$TINYLLM" ask --db "$DB" -m "$CHAT" --mode text -k 1 -c 400 -n 16 --verbose-prompt --json "stars" \
  >"$TMP/a.json" 2>"$TMP/err.txt" || fail "cut: exited $? ($(cat "$TMP/err.txt"))"
[ "$(json_get "$TMP/a.json" '[j.sources.length, j.sources[0].truncated].join(" ")')" = "1 true" ] \
  && grep -qE "^Stars .*[^.]\.\.\.$" "$TMP/err.txt" && grep -q "the last cut short" "$TMP/err.txt" \
  && pass "a long chunk is cut to fit" || fail "cut: $(cat "$TMP/a.json") $(cat "$TMP/err.txt")"
rm "$D/stars.txt"
"$TINYLLM" index --db "$DB" -m "$M" "$D" >/dev/null 2>&1 || fail "re-index exited $?"

# Reranking: the candidates in the order of `tinyllm rerank`'s scores for the same texts.
Q="what makes a rocket fly"
"$TINYLLM" search --db "$DB" --mode vector -k 100 --json "$Q" >"$TMP/all.json" || fail "search all exited $?"
node -e "const j=JSON.parse(require('fs').readFileSync('$TMP/all.json','utf8'));
  process.stdout.write(j.results.map(r => r.text).join('\0'))" >"$TMP/texts"
mapfile -d '' texts <"$TMP/texts"
[ "${#texts[@]}" = 5 ] && pass "5 chunks indexed" || fail "chunks: ${#texts[@]}"
"$TINYLLM" rerank -m "$R" --query "$Q" --json "${texts[@]}" >"$TMP/r.json" || fail "rerank exited $?"
want=$(node -e "const fs=require('fs'); const a=JSON.parse(fs.readFileSync('$TMP/all.json','utf8')),
  r=JSON.parse(fs.readFileSync('$TMP/r.json','utf8')); console.log(r.results.slice(0, 3).map(x => a.results[x.index].path).join(' '))")
"$TINYLLM" search --db "$DB" --mode vector -k 3 --rerank-model "$R" --json "$Q" >"$TMP/rs.json" \
  || fail "search --rerank-model exited $?"
[ "$(json_get "$TMP/rs.json" 'j.results.map(r => r.path).join(" ")')" = "$want" ] \
  && pass "search --rerank-model: rerank's order" || fail "rerank order: want $want, got $(cat "$TMP/rs.json")"
[ "$(json_get "$TMP/rs.json" '[j.reranked, j.results.every(r => typeof r.retrieval_score === "number"),
    j.results.every((r, i, a) => i === 0 || a[i - 1].score >= r.score)].join(" ")')" = "true true true" ] \
  && pass "search --json: both scores, best first" || fail "scores: $(cat "$TMP/rs.json")"
"$TINYLLM" search --db "$DB" --mode vector -k 3 --rerank-model "$R" "$Q" >"$TMP/rs.txt" || fail "search text exited $?"
[ "$(grep -c '^[0-9]\. ' "$TMP/rs.txt")" = 3 ] && pass "search --rerank-model: k results" || fail "text: $(cat "$TMP/rs.txt")"
"$TINYLLM" ask --db "$DB" -m "$CHAT" --mode vector -k 3 -n 4 --rerank-model "$R" --json "$Q" >"$TMP/ar.json" 2>/dev/null \
  || fail "ask --rerank-model exited $?"
[ "$(json_get "$TMP/ar.json" 'j.sources.map(s => s.path).join(" ")')" = "$want" ] \
  && pass "ask --rerank-model: sources in rerank's order" || fail "ask rerank: want $want, got $(cat "$TMP/ar.json")"
# --rerank-top 2: only the 2 best of the search are reranked.
top2=$(json_get "$TMP/all.json" 'j.results.slice(0, 2).map(r => r.path).sort().join(" ")')
"$TINYLLM" search --db "$DB" --mode vector -k 5 --rerank-model "$R" --rerank-top 2 --json "$Q" >"$TMP/t2.json"
[ "$(json_get "$TMP/t2.json" 'j.results.map(r => r.path).sort().join(" ")')" = "$top2" ] \
  && pass "--rerank-top N candidates" || fail "rerank-top: $(cat "$TMP/t2.json")"

# Errors: one line each.
EMPTY=$TMP/empty.db
mkdir -p "$TMP/nothing"
"$TINYLLM" index --db "$EMPTY" -m "$M" "$TMP/nothing" >/dev/null 2>&1
expect_error "ask: no db" "no database given" -- "$TINYLLM" ask -m "$CHAT" "question"
expect_error "ask: missing db" "no-such.db: No such file" -- "$TINYLLM" ask --db "$TMP/no-such.db" -m "$CHAT" "question"
expect_error "ask: empty db" "empty.db has no chunks" -- "$TINYLLM" ask --db "$EMPTY" -m "$CHAT" "question"
expect_error "ask: no model" "no chat model given" -- "$TINYLLM" ask --db "$DB" "question"
expect_error "ask: no question" "no question given" -- "$TINYLLM" ask --db "$DB" -m "$CHAT"
expect_error "ask: an encoder as the chat model" "bert.gguf is not a decoder-only model" -- \
  "$TINYLLM" ask --db "$DB" -m "$M" "question"
expect_error "ask: missing chat model" "nothere.gguf" -- "$TINYLLM" ask --db "$DB" -m "$TMP/nothere.gguf" "question"
expect_error "ask: not a reranker" "bert.gguf is not a reranker" -- \
  "$TINYLLM" ask --db "$DB" -m "$CHAT" --rerank-model "$M" "question"
expect_error "ask: nothing matches --path" "nothing in .*docs.db matches --path '\\*.pdf'" -- \
  "$TINYLLM" ask --db "$DB" -m "$CHAT" --path '*.pdf' "question"
expect_error "ask: no room for the answer" "with 60 kept for the answer they do not fit the context of 256" -- \
  "$TINYLLM" ask --db "$DB" -m "$CHAT" --chat-template chatml -c 256 -n 60 "question"
expect_error "ask: bad mode" "unknown --mode 'fuzzy'" -- "$TINYLLM" ask --db "$DB" -m "$CHAT" --mode fuzzy "question"
expect_error "search: not a reranker" "bert.gguf is not a reranker" -- \
  "$TINYLLM" search --db "$DB" --rerank-model "$M" "question"
expect_error "search: --rerank-top alone" "--rerank-top needs --rerank-model" -- \
  "$TINYLLM" search --db "$DB" --rerank-top 5 "question"
expect_error "search: missing reranker" "nothere.gguf" -- "$TINYLLM" search --db "$DB" --rerank-model "$TMP/nothere.gguf" q

"$TINYLLM" --help | grep -qE "^  ask " && pass "tinyllm --help lists ask" || fail "tinyllm --help"

finish

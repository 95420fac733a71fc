# tinyllm index and search: indexing a folder (kinds, counts), re-indexing (added, changed, touched, deleted
# files), a killed and an interrupted indexer, the model check, int8 vectors, the vector sidecar and its int8
# companion rebuilt, text / vector / hybrid results and --path, --json, and every bad input; on the tiny all-minilm-l6-v2 (synth).
source "$(dirname "$0")/lib.sh"
VOCAB=tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
need_shared "$VOCAB"
M=$TMP/bert.gguf
M2=$TMP/bert-other.gguf
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 42 --vocab "$SHARED/$VOCAB" -o "$M" 2>/dev/null \
  || { echo "FAIL: synth"; exit 1; }
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type f32 --seed 43 --vocab "$SHARED/$VOCAB" -o "$M2" 2>/dev/null \
  || { echo "FAIL: synth"; exit 1; }

D=$TMP/docs
mkdir -p "$D/sub" "$D/.hidden"
printf 'Cats are small furry animals that purr.\n\nThey like to sleep in the sun all afternoon.\n' >"$D/cats.txt"
printf '# Rockets\n\nA rocket engine burns fuel and oxidizer to make thrust.\n' >"$D/rockets.md"
printf '<html><head><style>p{color:red}</style><script>var rocket=1;</script></head>\n<body><p>Bread is baked &amp; sliced.</p></body></html>\n' >"$D/bread.html"
printf 'int main(void) { return 0; } /* the compiler turns source into programs */\n' >"$D/sub/prog.c"
printf 'the ocean is deep and blue' >"$D/sub/ocean"         # no extension, no newline: text
printf '\x89PNG\r\n' >"$D/picture.png"                      # other
printf '%%PDF-1.4\n' >"$D/paper.pdf"                       # pdf
printf 'text\0with a NUL byte\n' >"$D/data.txt"             # binary
: >"$D/empty.txt"                                           # empty
printf 'hidden rocket notes\n' >"$D/.hidden/secret.txt"     # hidden folders are not walked
DB=$TMP/index.db

# index: counts by kind
"$TINYLLM" index --db "$DB" -m "$M" "$D" >"$TMP/out.txt" 2>"$TMP/err.txt" || fail "index exited $? ($(cat "$TMP/err.txt"))"
grep -qx "files: 5 indexed, 0 unchanged, 0 removed" "$TMP/out.txt" && pass "5 files indexed" || fail "counts: $(cat "$TMP/out.txt")"
grep -qx "skipped: 1 pdf, 1 other, 1 binary, 0 unreadable, 1 empty" "$TMP/out.txt" && pass "skipped by kind" \
  || fail "skipped: $(cat "$TMP/out.txt")"
grep -qx "chunks: 5 added" "$TMP/out.txt" && pass "chunks counted" || fail "chunks: $(cat "$TMP/out.txt")"
[ ! -s "$TMP/err.txt" ] && pass "no progress bar off a terminal" || fail "stderr: $(cat "$TMP/err.txt")"
[ -s "$DB.vectors" ] && pass "vector sidecar written" || fail "no $DB.vectors"
[ -s "$DB.vectors.i8" ] && pass "its int8 companion written" || fail "no $DB.vectors.i8"

# search: text mode finds the words, with path and lines; HTML tags, scripts and hidden files are not indexed
"$TINYLLM" search --db "$DB" --mode text rocket thrust >"$TMP/s.txt" || fail "search exited $?"
head -1 "$TMP/s.txt" | grep -q "$D/rockets.md:1-3$" && pass "text search: path and lines" || fail "text search: $(cat "$TMP/s.txt")"
[ "$(grep -c '^[0-9]*\. ' "$TMP/s.txt")" = 1 ] && pass "html script and hidden folder not indexed" \
  || fail "rocket hits: $(cat "$TMP/s.txt")"
"$TINYLLM" search --db "$DB" --mode text --json baked >"$TMP/s.json" || fail "search --json exited $?"
[ "$(json_get "$TMP/s.json" '[j.mode, j.results.length, j.results[0].path.endsWith("bread.html"), j.results[0].text].join("|")')" \
  = "text|1|true|Bread is baked & sliced." ] && pass "html text extracted, --json" || fail "json: $(cat "$TMP/s.json")"
"$TINYLLM" search --db "$DB" --mode text 'compiler OR "quote (' >"$TMP/s.txt" 2>&1 \
  && grep -q "prog.c:1-1" "$TMP/s.txt" && pass "FTS syntax in the query is taken as words" || fail "fts escaping: $(cat "$TMP/s.txt")"
# vector mode: the query's own chunk text is the nearest (cosine 1)
"$TINYLLM" search --db "$DB" --mode vector --json -k 5 "the ocean is deep and blue" >"$TMP/v.json" || fail "vector search exited $?"
[ "$(json_get "$TMP/v.json" '[j.results.length, j.results[0].path.endsWith("/sub/ocean"), j.results[0].score > 0.9999].join(" ")')" \
  = "5 true true" ] && pass "vector search: the same text is nearest" || fail "vector: $(head -c 400 "$TMP/v.json")"
# hybrid (the default) keeps both lists: the word match is first
"$TINYLLM" search --db "$DB" -k 3 --json "furry cats" >"$TMP/h.json" || fail "hybrid exited $?"
[ "$(json_get "$TMP/h.json" '[j.mode, j.results.length, j.results[0].path.endsWith("cats.txt")].join(" ")')" = "hybrid 3 true" ] \
  && pass "hybrid search" || fail "hybrid: $(head -c 400 "$TMP/h.json")"
"$TINYLLM" search --db "$DB" --mode vector --path '*.md' -k 5 --json "anything" >"$TMP/p.json"
[ "$(json_get "$TMP/p.json" 'j.results.map(r => r.path.endsWith(".md")).join(" ")')" = "true" ] && pass "--path GLOB" \
  || fail "--path: $(head -c 400 "$TMP/p.json")"

# the sidecar is rebuilt when missing or damaged
cp "$TMP/v.json" "$TMP/v0.json"
rm "$DB.vectors"
"$TINYLLM" search --db "$DB" --mode vector --json -k 5 "the ocean is deep and blue" >"$TMP/v.json"
cmp -s "$TMP/v.json" "$TMP/v0.json" && [ -s "$DB.vectors" ] && pass "missing sidecar rebuilt" || fail "missing sidecar"
head -c 40 "$DB.vectors" >"$TMP/short" && cat "$TMP/short" >"$DB.vectors"
"$TINYLLM" search --db "$DB" --mode vector --json -k 5 "the ocean is deep and blue" >"$TMP/v.json"
cmp -s "$TMP/v.json" "$TMP/v0.json" && pass "truncated sidecar rebuilt" || fail "truncated sidecar"
rm "$DB.vectors.i8"
"$TINYLLM" search --db "$DB" --mode vector --json -k 5 "the ocean is deep and blue" >"$TMP/v.json"
cmp -s "$TMP/v.json" "$TMP/v0.json" && [ -s "$DB.vectors.i8" ] && pass "missing int8 companion rebuilt" \
  || fail "missing int8 companion"

# re-index: nothing changed; touched (same content); changed; added; deleted
"$TINYLLM" index --db "$DB" -m "$M" "$D" >"$TMP/out.txt" || fail "re-index exited $?"
grep -qx "files: 0 indexed, 6 unchanged, 0 removed" "$TMP/out.txt" && pass "re-index: all unchanged" || fail "re-index: $(cat "$TMP/out.txt")"
touch -d "2001-01-01" "$D/rockets.md"
printf 'Cats are small furry animals that purr.\n\nLions roar loudly at night.\n' >"$D/cats.txt"
printf 'Volcanoes erupt with molten lava.\n' >"$D/sub/volcano.md"
rm "$D/bread.html"
"$TINYLLM" index --db "$DB" -m "$M" "$D" >"$TMP/out.txt" || fail "incremental index exited $?"
grep -qx "files: 2 indexed, 4 unchanged, 1 removed" "$TMP/out.txt" && pass "re-index: changed, added, touched, removed" \
  || fail "incremental: $(cat "$TMP/out.txt")"
"$TINYLLM" search --db "$DB" --mode text lions >"$TMP/s.txt"
grep -q "cats.txt" "$TMP/s.txt" && pass "changed file re-indexed" || fail "lions: $(cat "$TMP/s.txt")"
"$TINYLLM" search --db "$DB" --mode text afternoon >"$TMP/s.txt"
[ "$(cat "$TMP/s.txt")" = "no results" ] && pass "old chunks of a changed file gone" || fail "afternoon: $(cat "$TMP/s.txt")"
"$TINYLLM" search --db "$DB" --mode text bread >"$TMP/s.txt"
[ "$(cat "$TMP/s.txt")" = "no results" ] && pass "deleted file removed" || fail "bread: $(cat "$TMP/s.txt")"
"$TINYLLM" search --db "$DB" --mode text lava | grep -q "volcano.md:1-1" && pass "added file indexed" || fail "lava"

# the model is checked: another model is refused, on index and on search
expect_error "index with another model" "indexed with .*bert.gguf, not .*bert-other.gguf: it gives other embeddings" -- \
  "$TINYLLM" index --db "$DB" -m "$M2" "$D"
expect_error "search with another model" "indexed with .*bert.gguf, not .*bert-other.gguf" -- \
  "$TINYLLM" search --db "$DB" -m "$M2" "cats"
"$TINYLLM" search --db "$DB" -m "$M" --mode vector "cats" >/dev/null && pass "search with the same model given" \
  || fail "search -m same model"
expect_error "int8 on a float32 database" "stores float32 vectors" -- \
  "$TINYLLM" index --db "$DB" -m "$M" --quantize-vectors "$D"

# int8 vectors: the same nearest chunk as float32
"$TINYLLM" index --db "$TMP/i8.db" -m "$M" --quantize-vectors "$D" >/dev/null || fail "int8 index exited $?"
"$TINYLLM" search --db "$TMP/i8.db" --mode vector --json -k 1 "the ocean is deep and blue" >"$TMP/q.json"
[ "$(json_get "$TMP/q.json" '[j.results[0].path.endsWith("/sub/ocean"), j.results[0].score > 0.99].join(" ")')" = "true true" ] \
  && pass "int8 vectors" || fail "int8: $(head -c 300 "$TMP/q.json")"

# a killed indexer leaves a usable database, and a re-run completes it
B=$TMP/big
mkdir -p "$B"
for i in $(seq 1 150); do
  for p in 1 2 3 4 5 6; do printf 'File %d part %d: the zebra walks across the savanna while birds sing in the trees and the wind moves the grass.\n\n' "$i" "$p"; done >"$B/f$i.txt"
done
count_sources() { # the files of $1 whose chunks mention zebra
  "$TINYLLM" search --db "$1" --mode text --json -k 10000 zebra 2>/dev/null \
    | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{try{console.log(new Set(JSON.parse(s).results.map(r=>r.path)).size)}catch(e){console.log(0)}})"
}
# The indexer stops itself (SIGSTOP) right after storing its 40th chunk, inside that file's transaction: the
# signal then always lands in the middle of a file, however fast the machine.
is_stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = T ]; }
for signal in KILL INT; do
  K=$TMP/killed-$signal.db
  TINYLLM_INDEX_PAUSE_AT_CHUNK=40 "$TINYLLM" index --db "$K" -m "$M" -t 1 "$B" >"$TMP/k.out" 2>"$TMP/k.err" &
  pid=$!
  if ! wait_for --pid "$pid" 120 is_stopped "$pid"; then fail "$signal: the indexer did not reach chunk 40"; kill -9 "$pid"; wait "$pid"; continue; fi
  kill -"$signal" "$pid"
  kill -CONT "$pid"
  wait "$pid" 2>/dev/null
  code=$?
  done_before=$(count_sources "$K")
  if [ "$signal" = INT ]; then
    [ "$code" = 130 ] && grep -q "interrupted: the files done so far are kept" "$TMP/k.err" && pass "SIGINT: exit 130, message" \
      || fail "SIGINT: exit $code, $(cat "$TMP/k.err")"
  fi
  [ "$done_before" -gt 0 ] && [ "$done_before" -lt 150 ] && pass "$signal: database usable, $done_before files in it" \
    || fail "$signal: $done_before files after the signal"
  "$TINYLLM" index --db "$K" -m "$M" "$B" >"$TMP/k.out" || fail "$signal: re-run exited $?"
  grep -qx "files: $((150 - done_before)) indexed, $done_before unchanged, 0 removed" "$TMP/k.out" \
    && pass "$signal: the re-run indexes the rest" || fail "$signal: re-run: $(cat "$TMP/k.out") (had $done_before)"
  [ "$(count_sources "$K")" = 150 ] && pass "$signal: all 150 files searchable" || fail "$signal: $(count_sources "$K") files"
done

# bad inputs: one line, exit 1
printf 'not a database at all, just text\n' >"$TMP/notdb.db"
expect_error "search: missing database" "no-such.db: No such file" -- "$TINYLLM" search --db "$TMP/no-such.db" cats
expect_error "search: not a database" "notdb.db: not a search database" -- "$TINYLLM" search --db "$TMP/notdb.db" cats
expect_error "index: not a database" "notdb.db: not a search database" -- "$TINYLLM" index --db "$TMP/notdb.db" -m "$M" "$D"
expect_error "index: missing path" "nowhere: No such file" -- "$TINYLLM" index --db "$DB" -m "$M" "$TMP/nowhere"
expect_error "index: path under a file" "notdb.db/x: Not a directory" -- "$TINYLLM" index --db "$DB" -m "$M" "$TMP/notdb.db/x"
if [ "$(id -u)" != 0 ]; then # root reads everything
  mkdir -p "$TMP/locked" && chmod 000 "$TMP/locked"
  expect_error "index: unreadable path" "locked: Permission denied" -- "$TINYLLM" index --db "$DB" -m "$M" "$TMP/locked"
  chmod 755 "$TMP/locked"
fi
expect_error "index: no model" "no embedding model given" -- "$TINYLLM" index --db "$DB" "$D"
expect_error "index: no db" "no database given" -- "$TINYLLM" index -m "$M" "$D"
expect_error "index: no path" "no files or folders given" -- "$TINYLLM" index --db "$DB" -m "$M"
expect_error "index: overlap too big" "--overlap 64 must be smaller than --chunk-tokens 64" -- \
  "$TINYLLM" index --db "$DB" -m "$M" --chunk-tokens 64 --overlap 64 "$D"
expect_error "index: missing model file" "nothere.gguf" -- "$TINYLLM" index --db "$TMP/new.db" -m "$TMP/nothere.gguf" "$D"
expect_error "search: bad mode" "unknown --mode 'fuzzy'" -- "$TINYLLM" search --db "$DB" --mode fuzzy cats
expect_error "search: k 0" "-k" -- "$TINYLLM" search --db "$DB" -k 0 cats
expect_error "search: unknown flag" "--bogus" -- "$TINYLLM" search --db "$DB" --bogus cats
expect_error "search: no query" "no query given" -- "$TINYLLM" search --db "$DB"
expect_error "search: no db" "no database given" -- "$TINYLLM" search cats

# --help
"$TINYLLM" index --help | grep -q -- "--quantize-vectors" && pass "index --help" || fail "index --help"
"$TINYLLM" search --help | grep -q -- "--mode MODE" && pass "search --help" || fail "search --help"
"$TINYLLM" --help | grep -qE "^  (index|search) " && pass "tinyllm --help lists them" || fail "tinyllm --help"

finish

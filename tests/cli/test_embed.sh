# tinyllm embed: output formats, inputs, pooling, normalization, truncation and every error path,
# on the tiny all-minilm-l6-v2 (synth, seed 42, as tests/reference/bert-tiny-q8_0-*.json were made by llama.cpp).
source "$(dirname "$0")/lib.sh"
VOCAB=tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
need_shared "$VOCAB"
M=$TMP/bert-tiny-q8_0.gguf
"$TINYLLM" synth --preset all-minilm-l6-v2 --tiny --type q8_0 --seed 42 --vocab "$SHARED/$VOCAB" -o "$M" 2>/dev/null \
  || { echo "FAIL: synth"; exit 1; }
REF=tests/reference/bert-tiny-q8_0

# cosine FILE_A LINE_A JSON_REF CASE: the cosine between line LINE_A (1-based) of FILE_A and llama.cpp's vector.
cosine() {
  node -e "
    const fs = require('fs');
    const a = fs.readFileSync('$1', 'utf8').split('\n')[$2 - 1].split(' ').map(Number);
    const b = JSON.parse(fs.readFileSync('$3', 'utf8')).cases[$4].embedding;
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < b.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
    console.log(a.length === b.length && ab / Math.sqrt(aa * bb) >= 0.9999 ? 'ok' : 'bad ' + a.length + ' ' + ab / Math.sqrt(aa * bb));"
}

# Plain output: one line of 128 numbers per input, as llama.cpp computes (mean pooling, normalized).
"$TINYLLM" embed -m "$M" "Hello world" "The quick brown fox jumps over the lazy dog." >"$TMP/two.txt" 2>"$TMP/err.txt" \
  || fail "embed exited $?"
[ "$(wc -l <"$TMP/two.txt")" = 2 ] && pass "one line per input" || fail "lines: $(wc -l <"$TMP/two.txt")"
[ "$(head -1 "$TMP/two.txt" | wc -w)" = 128 ] && pass "128 numbers per line" || fail "numbers per line"
[ ! -s "$TMP/err.txt" ] && pass "nothing on stderr" || fail "stderr: $(cat "$TMP/err.txt")"
[ "$(cosine "$TMP/two.txt" 1 "$REF-mean.json" 0)" = ok ] && pass "input 0 matches llama.cpp" || fail "input 0 vs llama.cpp"
[ "$(cosine "$TMP/two.txt" 2 "$REF-mean.json" 1)" = ok ] && pass "input 1 matches llama.cpp" || fail "input 1 vs llama.cpp"
norm=$(head -1 "$TMP/two.txt" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=s.trim().split(' ').map(Number);console.log(Math.abs(Math.hypot(...v)-1)<1e-4)})")
[ "$norm" = true ] && pass "normalized by default" || fail "not unit length"
"$TINYLLM" embed -m "$M" --no-normalize "Hello world" >"$TMP/raw.txt"
norm=$(node -e "const v=require('fs').readFileSync('$TMP/raw.txt','utf8').trim().split(' ').map(Number);console.log(Math.abs(Math.hypot(...v)-1)>1e-3)")
[ "$norm" = true ] && pass "--no-normalize" || fail "--no-normalize gave a unit vector"

# Other poolings agree with llama.cpp too.
for pooling in cls last; do
  "$TINYLLM" embed -m "$M" --pooling "$pooling" "Hello world" >"$TMP/p.txt"
  [ "$(cosine "$TMP/p.txt" 1 "$REF-$pooling.json" 0)" = ok ] && pass "--pooling $pooling" || fail "--pooling $pooling"
done

# Inputs: -f FILE lines (empty ones skipped, CRLF accepted), -f - for stdin, after the TEXT arguments.
printf 'Hello world\r\n\n\nThe quick brown fox jumps over the lazy dog.\n' >"$TMP/in.txt"
"$TINYLLM" embed -m "$M" -f "$TMP/in.txt" >"$TMP/f.txt"
cmp -s "$TMP/f.txt" "$TMP/two.txt" && pass "-f file lines" || fail "-f file differs from TEXT arguments"
printf 'The quick brown fox jumps over the lazy dog.' | "$TINYLLM" embed -m "$M" "Hello world" -f - >"$TMP/stdin.txt"
cmp -s "$TMP/stdin.txt" "$TMP/two.txt" && pass "TEXT then -f - (stdin)" || fail "stdin input"
"$TINYLLM" embed -m "$M" -t 1 "Hello world" "The quick brown fox jumps over the lazy dog." >"$TMP/t1.txt"
"$TINYLLM" embed -m "$M" -t 3 "Hello world" "The quick brown fox jumps over the lazy dog." >"$TMP/t3.txt"
cmp -s "$TMP/t1.txt" "$TMP/t3.txt" && pass "threads agree" || fail "-t 1 and -t 3 differ"

# Pooling none: a line per token, a blank line between inputs ("Hello world" is [CLS] hello world [SEP]).
"$TINYLLM" embed -m "$M" --pooling none "Hello world" "Hello world" >"$TMP/none.txt"
[ "$(wc -l <"$TMP/none.txt")" = 9 ] && [ -z "$(sed -n 5p "$TMP/none.txt")" ] && pass "pooling none rows" \
  || fail "pooling none: $(wc -l <"$TMP/none.txt") lines"

# --json: {model, dim, pooling, data: [{index, embedding}]}; pooling none gives rows.
"$TINYLLM" embed -m "$M" --json "Hello world" "The quick brown fox jumps over the lazy dog." >"$TMP/e.json" || fail "--json exited $?"
[ "$(json_get "$TMP/e.json" '[j.model, j.dim, j.pooling, j.data.length, j.data[1].index, j.data[1].embedding.length].join(" ")')" \
  = "bert-tiny-q8_0.gguf 128 mean 2 1 128" ] && pass "json shape" || fail "json shape: $(head -c 300 "$TMP/e.json")"
[ "$(json_get "$TMP/e.json" "j.data[0].embedding.map(x => x.toPrecision(6)).join(' ') === require('fs').readFileSync('$TMP/two.txt','utf8').split('\n')[0].split(' ').map(x => Number(x).toPrecision(6)).join(' ')")" = true ] \
  && pass "json vector equals the plain one" || fail "json and plain vectors differ"
"$TINYLLM" embed -m "$M" --json --pooling none "Hello world" >"$TMP/n.json"
[ "$(json_get "$TMP/n.json" '[j.pooling, j.data[0].embedding.length, j.data[0].embedding[3].length].join(" ")')" = "none 4 128" ] \
  && pass "json pooling none rows" || fail "json pooling none: $(head -c 200 "$TMP/n.json")"

# Too long for the context: truncated keeping [SEP] (the cut text equals the shorter one), with a notice.
"$TINYLLM" embed -m "$M" -c 8 "the cat sat on the mat and the dog" >"$TMP/cut.txt" 2>"$TMP/cut.err"
"$TINYLLM" embed -m "$M" "the cat sat on the mat" >"$TMP/short.txt"
cmp -s "$TMP/cut.txt" "$TMP/short.txt" && pass "truncation keeps [SEP]" || fail "truncated vector differs"
grep -q "input 0 truncated from 11 to 8 tokens" "$TMP/cut.err" && [ "$(wc -l <"$TMP/cut.err")" = 1 ] \
  && pass "truncation notice" || fail "notice: $(cat "$TMP/cut.err")"

# Decoder-only models work too (their hidden states): a model that names no pooling gives one vector
# per input, its last token's (as embedding servers pool causal models), unless --pooling none.
D=$SHARED/models/stories260K.gguf
if [ -e "$D" ]; then
  "$TINYLLM" embed -m "$D" --pooling mean "Once upon a time" >"$TMP/dec.txt" \
    && [ "$(wc -w <"$TMP/dec.txt")" = 64 ] && pass "decoder model" || fail "decoder model: $(head -c 200 "$TMP/dec.txt")"
  "$TINYLLM" embed -m "$D" "Once upon a time" "Lily" >"$TMP/dec-default.txt"
  [ "$(wc -l <"$TMP/dec-default.txt") $(head -1 "$TMP/dec-default.txt" | wc -w)" = "2 64" ] \
    && pass "decoder: one vector per input by default" || fail "decoder default: $(wc -l <"$TMP/dec-default.txt") lines"
  "$TINYLLM" embed -m "$D" --pooling last "Once upon a time" "Lily" >"$TMP/dec-last.txt"
  cmp -s "$TMP/dec-default.txt" "$TMP/dec-last.txt" && pass "decoder default is last-token pooling" \
    || fail "decoder default differs from --pooling last"
  "$TINYLLM" embed -m "$D" --json "Lily" >"$TMP/dec.json"
  [ "$(json_get "$TMP/dec.json" '[j.pooling, j.data[0].embedding.length].join(" ")')" = "last 64" ] \
    && pass "decoder --json pooling last" || fail "decoder --json: $(head -c 200 "$TMP/dec.json")"
  "$TINYLLM" embed -m "$D" --pooling none "Once upon a time" >"$TMP/dec-none.txt"
  [ "$(wc -l <"$TMP/dec-none.txt")" = 5 ] && pass "decoder --pooling none: a row per token" \
    || fail "decoder --pooling none: $(wc -l <"$TMP/dec-none.txt") lines"
  # The server gives the same vector, one per input, on both APIs (needs curl).
  "$TINYLLM" serve --port 0 -m "$D" >"$TMP/serve.out" 2>"$TMP/serve.err" &
  SERVER=$!
  trap 'kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
  URL=
  listening() { URL=$(grep -oE 'http://[^ ]+:[0-9]+' "$TMP/serve.out" | head -1); [ -n "$URL" ]; }
  if ! command -v curl >/dev/null; then
    echo "skip: curl is not installed (server embeddings)"
  elif wait_for --pid $SERVER 60 listening; then
    curl -s "$URL/v1/embeddings" -d '{"model":"stories260K","input":["Once upon a time","Lily"]}' >"$TMP/openai.json"
    curl -s "$URL/api/embed" -d '{"model":"stories260K","input":["Once upon a time","Lily"]}' >"$TMP/ollama.json"
    same_as_cli() { # FILE JS-EXPR-FOR-THE-VECTORS
      node -e "
        const fs = require('fs'), j = JSON.parse(fs.readFileSync('$1', 'utf8'));
        const cli = fs.readFileSync('$TMP/dec-default.txt', 'utf8').trim().split('\n').map(l => l.split(' ').map(Number));
        const got = $2;
        console.log(got.length === 2 && got.every((v, i) => v.length === 64 && v.every((x, k) => Math.abs(x - cli[i][k]) < 1e-5)));"
    }
    [ "$(same_as_cli "$TMP/openai.json" 'j.data.map(d => d.embedding)')" = true ] \
      && pass "server /v1/embeddings: the CLI's vectors" || fail "/v1/embeddings: $(head -c 300 "$TMP/openai.json")"
    [ "$(same_as_cli "$TMP/ollama.json" 'j.embeddings')" = true ] \
      && pass "server /api/embed: the CLI's vectors" || fail "/api/embed: $(head -c 300 "$TMP/ollama.json")"
  else
    fail "the server did not start: $(cat "$TMP/serve.err")"
  fi
  kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null
fi

# The context options of `run`: -b and the KV cache types are taken (an encoder keeps no KV cache).
"$TINYLLM" embed -m "$M" -b 4 --cache-type-k F32 --cache-type-v f32 "Hello world" "The quick brown fox jumps over the lazy dog." \
  >"$TMP/ctx.txt" && cmp -s "$TMP/ctx.txt" "$TMP/two.txt" && pass "embed -b and --cache-type-k/-v" || fail "embed context options"
expect_error "embed: bad cache type" "^tinyllm embed: --cache-type-v must be f32, f16 or q8_0, got 'q4_0'" -- \
  "$TINYLLM" embed -m "$M" --cache-type-v q4_0 "Hello"

"$TINYLLM" embed --help >"$TMP/help.txt" && grep -q -- "--pooling" "$TMP/help.txt" && grep -q "usage: tinyllm embed" "$TMP/help.txt" \
  && pass "--help" || fail "--help"
"$TINYLLM" --help | grep -q "embed" && pass "listed in tinyllm --help" || fail "not listed in tinyllm --help"

# Errors: one line "tinyllm embed: ...", exit 1, nothing on stdout.
printf 'not a gguf' >"$TMP/bad.gguf"
expect_error "no model" "^tinyllm embed: no model given" -- "$TINYLLM" embed "Hello"
expect_error "no inputs" "^tinyllm embed: no inputs given" -- "$TINYLLM" embed -m "$M"
expect_error "only empty lines" "^tinyllm embed: no inputs given" -- "$TINYLLM" embed -m "$M" -f /dev/null
expect_error "bad pooling" "^tinyllm embed: unknown pooling 'max'" -- "$TINYLLM" embed -m "$M" --pooling max "Hello"
expect_error "unreadable file" "^tinyllm embed: cannot open input file '$TMP/nope.txt'" -- "$TINYLLM" embed -m "$M" -f "$TMP/nope.txt"
expect_error "missing model file" "^tinyllm embed: .*nope.gguf" -- "$TINYLLM" embed -m "$TMP/nope.gguf" "Hello"
expect_error "not a model" "^tinyllm embed: .*bad.gguf" -- "$TINYLLM" embed -m "$TMP/bad.gguf" "Hello"
expect_error "no truncation" "^tinyllm embed: input 0 has 11 tokens, more than the context of 8" -- \
  "$TINYLLM" embed -m "$M" -c 8 --no-truncate "the cat sat on the mat and the dog"
yes "the cat sat on the mat and the dog" | tr '\n' ' ' | head -c 20000000 >"$TMP/big-input.txt"
expect_error "no truncation, 20 MB input" "^tinyllm embed: input 0 has more than 32 tokens, more than the context of 8" -- \
  "$TINYLLM" embed -m "$M" -c 8 --no-truncate -f "$TMP/big-input.txt"
rm -f "$TMP/big-input.txt"
expect_error "no truncation, later input" "^tinyllm embed: input 1 has" -- \
  "$TINYLLM" embed -m "$M" -c 8 --no-truncate "Hello" "the cat sat on the mat and the dog"
expect_error "context beyond positions" "^tinyllm embed: .*longer than the model's 512 positions" -- \
  "$TINYLLM" embed -m "$M" -c 1024 "Hello"
if "$TINYLLM" synth --preset flan-t5-small --tiny --type f32 --vocab @unigram -o "$TMP/t5.gguf" 2>/dev/null; then
  expect_error "encoder-decoder model" "^tinyllm embed: .*t5.gguf is an encoder-decoder model" -- \
    "$TINYLLM" embed -m "$TMP/t5.gguf" "Hello"
fi
expect_error "bad threads" "^tinyllm embed: --threads" -- "$TINYLLM" embed -m "$M" -t x "Hello"
expect_error "unknown option" "^tinyllm embed: unknown option '--max'" -- "$TINYLLM" embed -m "$M" --max "Hello"
expect_error "-f needs a value" "^tinyllm embed: --file needs a value" -- "$TINYLLM" embed -m "$M" -f

# bench on an encoder: pp only (encoding), with a notice.
if "$TINYLLM" bench -m "$M" -p 16 -n 4 -r 1 --json >"$TMP/bench.json" 2>"$TMP/err.txt" &&
  [ "$(json_get "$TMP/bench.json" 'j.pp.tokens_per_s.median > 0 && j.tg === undefined')" = true ] &&
  grep -q "embeddings only" "$TMP/err.txt"; then
  pass "bench pp only"
else fail "bench: $(cat "$TMP/err.txt") $(cat "$TMP/bench.json")"; fi
finish

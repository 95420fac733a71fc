# tinyllm run: golden text, determinism, JSON output, context limits.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf golden/stories260K-greedy-200.txt
M=$SHARED/models/stories260K.gguf

# Acceptance 1: greedy text equals llama.cpp's, byte for byte (stdout only).
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 200 --temp 0 >"$TMP/out.txt" 2>"$TMP/err.txt" || fail "run exited $?"
if cmp -s "$TMP/out.txt" "$SHARED/golden/stories260K-greedy-200.txt"; then pass "greedy 200 golden"; else
  fail "greedy 200 differs from golden"; diff <(cat "$TMP/out.txt") "$SHARED/golden/stories260K-greedy-200.txt" | head -5; fi
grep -q "tokens/s" "$TMP/err.txt" && pass "summary on stderr" || fail "no timing summary on stderr"

if [ -e "$SHARED/models/stories260K-v1-f32.gguf" ]; then
  "$TINYLLM" run -m "$SHARED/models/stories260K-v1-f32.gguf" -p "Once upon a time" -n 200 --temp 0 2>/dev/null >"$TMP/v1.txt"
  cmp -s "$TMP/v1.txt" "$SHARED/golden/stories260K-greedy-200.txt" && pass "GGUF v1 golden" || fail "GGUF v1 output differs"
fi

# Every KV cache type gives the golden text on this model (it has 8-wide heads, so no q8_0).
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 200 --temp 0 --cache-type-k f32 --cache-type-v f32 2>/dev/null >"$TMP/f32.txt"
cmp -s "$TMP/f32.txt" "$SHARED/golden/stories260K-greedy-200.txt" && pass "f32 cache golden" || fail "f32 cache output differs"

# Same seed and settings: same text; threads do not change greedy output.
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 60 -s 1234 --temp 1.0 2>/dev/null >"$TMP/a.txt"
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 60 -s 1234 --temp 1.0 2>/dev/null >"$TMP/b.txt"
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 60 -s 99 --temp 1.0 2>/dev/null >"$TMP/c.txt"
cmp -s "$TMP/a.txt" "$TMP/b.txt" && pass "same seed same text" || fail "same seed gave different text"
cmp -s "$TMP/a.txt" "$TMP/c.txt" && fail "different seeds gave the same text" || pass "different seed different text"
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 50 --temp 0 -t 1 2>/dev/null >"$TMP/t1.txt"
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 50 --temp 0 -t 2 2>/dev/null >"$TMP/t2.txt"
cmp -s "$TMP/t1.txt" "$TMP/t2.txt" && pass "threads agree" || fail "-t 1 and -t 2 differ"

# --json: one object with text, tokens, prompt_tokens and timings.
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 20 --temp 0 --json >"$TMP/run.json" 2>"$TMP/err.txt" || fail "run --json exited $?"
[ "$(json_get "$TMP/run.json" 'j.prompt_tokens.join(" ")')" = "1 403 407 261 378" ] && pass "json prompt_tokens" || fail "json prompt_tokens"
[ "$(json_get "$TMP/run.json" 'j.tokens.length')" = "20" ] && pass "json tokens" || fail "json tokens count"
[ "$(json_get "$TMP/run.json" "require('fs').readFileSync('$SHARED/golden/stories260K-greedy-200.txt','utf8').startsWith(j.text) && j.text.length > 20")" = "true" ] \
  && pass "json text is the golden prefix" || fail "json text: $(cat "$TMP/run.json")"
[ "$(json_get "$TMP/run.json" 'typeof j.timings.predicted_per_second')" = "number" ] && pass "json timings" || fail "json timings"

# --json and the plain text are valid UTF-8 whatever bytes the model emits: byte tokens (id 3 + byte) pushed
# up by --logit-bias form characters, broken sequences (U+FFFD) and ones cut by -n at every point.
BYTES="--logit-bias 231+100 --logit-bias 192+100 --logit-bias 163+100 --logit-bias 173+100 --logit-bias 243+100"
cat >"$TMP/utf8.js" <<'EOF'
// utf8.js FILE... : each file must be valid UTF-8 (and JSON when it ends in .json); prints how many hold U+FFFD.
const fs = require('fs');
let replaced = 0;
for (const file of process.argv.slice(2)) {
  const text = new TextDecoder('utf-8', {fatal: true}).decode(fs.readFileSync(file)); // throws on a bad byte
  const value = file.endsWith('.json') ? JSON.parse(text).text : text;
  if (value.includes('\uFFFD')) replaced++;
}
console.log(replaced);
EOF
files=()
for n in 1 2 3 4 5 6 7 8 9 10; do
  # shellcheck disable=SC2086
  "$TINYLLM" run -m "$M" -p "Once" -n $n --temp 1 -s 5 $BYTES --json >"$TMP/bytes$n.json" 2>/dev/null
  "$TINYLLM" run -m "$M" -p "Once" -n $n --temp 1 -s 5 $BYTES >"$TMP/bytes$n.txt" 2>/dev/null
  files+=("$TMP/bytes$n.json" "$TMP/bytes$n.txt")
done
replaced=$(node "$TMP/utf8.js" "${files[@]}" 2>&1)
[[ "$replaced" =~ ^[0-9]+$ ]] && [ "$replaced" -gt 0 ] && pass "byte tokens: --json and text are valid UTF-8 at every cut" ||
  fail "byte tokens: not valid UTF-8 / JSON ($replaced)"

# --ignore-eos keeps going; without it a story ends at EOS before 2000 tokens.
n=$("$TINYLLM" run -m "$M" -p "Once" -n 300 --temp 0 --ignore-eos --json 2>/dev/null | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).tokens.length))")
[ "$n" = "300" ] && pass "--ignore-eos generates all tokens" || fail "--ignore-eos produced $n tokens"

# A full context stops generation with a notice, not a crash.
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 100 -c 16 --temp 0 --json >"$TMP/ctx.json" 2>/dev/null
[ "$(json_get "$TMP/ctx.json" 'j.stop_reason + " " + j.tokens.length')" = "context 12" ] && pass "context full stops" \
  || fail "context full: $(cat "$TMP/ctx.json")"

# Prompt from a file.
printf 'Once upon a time' >"$TMP/prompt.txt"
"$TINYLLM" run -m "$M" -f "$TMP/prompt.txt" -n 200 --temp 0 2>/dev/null >"$TMP/f.txt"
cmp -s "$TMP/f.txt" "$SHARED/golden/stories260K-greedy-200.txt" && pass "-f prompt file" || fail "-f prompt file"
finish

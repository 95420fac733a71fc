# tinyllm run on an encoder-decoder (a tiny random-weight FLAN-T5 written by synth): the prompt is encoded,
# generation starts from the decoder start token. Greedy output equals llama.cpp's greedy ids
# (tests/reference/t5-tiny-q8_0.json, see scripts/reference/make_reference.sh) and their text; it is
# deterministic; -c bounds the input and the generated length; broken files and inputs give one-line errors.
source "$(dirname "$0")/lib.sh"
REF=tests/reference/t5-tiny-q8_0.json
M=$TMP/t5-tiny-q8_0.gguf
"$TINYLLM" synth --preset flan-t5-small --tiny --type q8_0 --seed 42 --vocab @unigram -o "$M" 2>"$TMP/err.txt" ||
  { fail "synth: $(cat "$TMP/err.txt")"; finish; }
F32_CACHE=(--cache-type-k f32 --cache-type-v f32) # as llama.cpp made the reference

# Acceptance: for every text case, the prompt's tokens (</s> appended), then the greedy ids up to the first
# end of generation (llama.cpp's list goes on past it), and the text is those ids detokenized.
n_cases=$(json_get "$REF" 'j.cases.filter(c => c.prompt !== undefined).length')
[ "$n_cases" -ge 3 ] || fail "reference has $n_cases text cases"
for ((i = 0; i < n_cases; i++)); do
  prompt=$(json_get "$REF" "j.cases[$i].prompt")
  "$TINYLLM" run -m "$M" -p "$prompt" -n 32 --temp 0 "${F32_CACHE[@]}" --json >"$TMP/run.json" 2>"$TMP/err.txt" ||
    { fail "case $i: run exited $?: $(cat "$TMP/err.txt")"; continue; }
  got_prompt=$(json_get "$TMP/run.json" 'j.prompt_tokens.join(" ")')
  want_prompt=$(json_get "$REF" "j.cases[$i].tokens.join(' ')")
  [ "$got_prompt" = "$want_prompt" ] || {
    fail "case $i: prompt tokens '$got_prompt', llama.cpp '$want_prompt' (vocabulary changed? see make_reference.sh)"
    continue
  }
  got=$(json_get "$TMP/run.json" 'j.tokens.join(" ")')
  want=$(json_get "$REF" "(k => k < 0 ? j.cases[$i].greedy : j.cases[$i].greedy.slice(0, k))(j.cases[$i].greedy.indexOf(1)).join(' ')")
  [ "$got" = "$want" ] && pass "case $i: greedy ids equal llama.cpp's" || fail "case $i: greedy '$got', llama.cpp '$want'"
  # shellcheck disable=SC2086
  "$TINYLLM" detokenize -m "$M" $want >"$TMP/detok.txt" 2>/dev/null
  json_get "$TMP/run.json" 'j.text' | head -c -1 >"$TMP/text.txt" # console.log adds a newline
  cmp -s "$TMP/detok.txt" "$TMP/text.txt" && pass "case $i: text is the ids detokenized" ||
    fail "case $i: text '$(cat "$TMP/text.txt")', detokenized '$(cat "$TMP/detok.txt")'"
  # Streaming output: the same text, then the two newlines llama-cli ends with.
  "$TINYLLM" run -m "$M" -p "$prompt" -n 32 --temp 0 "${F32_CACHE[@]}" >"$TMP/stream.txt" 2>/dev/null
  printf '\n\n' >>"$TMP/text.txt"
  cmp -s "$TMP/stream.txt" "$TMP/text.txt" && pass "case $i: streamed text" || fail "case $i: streamed text differs"
done

# Deterministic: threads and repeated runs do not change greedy output; a seed fixes sampled output.
P="translate English to German: The house is wonderful."
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0 -t 1 >"$TMP/t1.txt" 2>/dev/null
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0 -t 2 >"$TMP/t2.txt" 2>/dev/null
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0 -t 2 >"$TMP/t2b.txt" 2>/dev/null
cmp -s "$TMP/t1.txt" "$TMP/t2.txt" && cmp -s "$TMP/t2.txt" "$TMP/t2b.txt" && [ -s "$TMP/t1.txt" ] &&
  pass "greedy output deterministic" || fail "greedy output differs between runs or thread counts"
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0.9 -s 7 >"$TMP/s1.txt" 2>/dev/null
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0.9 -s 7 >"$TMP/s2.txt" 2>/dev/null
"$TINYLLM" run -m "$M" -p "$P" -n 24 --temp 0.9 -s 8 >"$TMP/s3.txt" 2>/dev/null
cmp -s "$TMP/s1.txt" "$TMP/s2.txt" && pass "same seed same text" || fail "same seed gave different text"
cmp -s "$TMP/s1.txt" "$TMP/s3.txt" && fail "different seeds gave the same text" || pass "different seed different text"
"$TINYLLM" run -m "$M" -p "$P" -n 5 --temp 0 >/dev/null 2>"$TMP/err.txt" && grep -q "tokens/s" "$TMP/err.txt" &&
  pass "summary on stderr" || fail "no timing summary: $(cat "$TMP/err.txt")"

# -c bounds the decoder: the start token and 11 generated ones fill a context of 12.
"$TINYLLM" run -m "$M" -p "Hello" -n 100 -c 12 --temp 0 --ignore-eos --json >"$TMP/ctx.json" 2>/dev/null
[ "$(json_get "$TMP/ctx.json" 'j.stop_reason + " " + j.tokens.length')" = "context 12" ] && pass "context full stops" ||
  fail "context full: $(cat "$TMP/ctx.json")"
# ... and the encoder's input: a prompt longer than the context is an error.
expect_error "prompt longer than the context" "25 tokens, more than the context size of 16" -- \
  "$TINYLLM" run -m "$M" -p "$P" -c 16
expect_error "bad cache type" "cache-type-k" -- "$TINYLLM" run -m "$M" -p "$P" --cache-type-k q4_0

# Broken files: one line naming the file and what is missing.
LC_ALL=C sed 's/enc\.blk\.0\.attn_rel_b/enc.blk.0.attn_rel_X/' "$M" >"$TMP/no-rel-b.gguf"
expect_error "missing relative attention bias" "no-rel-b.gguf: missing required tensor 'enc.blk.0.attn_rel_b.weight'" -- \
  "$TINYLLM" run -m "$TMP/no-rel-b.gguf" -p "$P"
LC_ALL=C sed 's/t5\.attention\.relative_buckets_count/t5.attention.relative_buckets_counX/' "$M" >"$TMP/no-buckets.gguf"
expect_error "missing bucket count" "missing required key 't5.attention.relative_buckets_count'" -- \
  "$TINYLLM" run -m "$TMP/no-buckets.gguf" -p "$P"
# Without decoder_start_token_id the BOS token would be used; this vocabulary has none.
LC_ALL=C sed 's/t5\.decoder_start_token_id/t5.decoder_start_token_iX/' "$M" >"$TMP/no-start.gguf"
expect_error "no decoder start token" "no decoder start token" -- "$TINYLLM" run -m "$TMP/no-start.gguf" -p "$P"
head -c 100000 "$M" >"$TMP/truncated.gguf"
expect_error "truncated file" "truncated.gguf" -- "$TINYLLM" run -m "$TMP/truncated.gguf" -p "$P"

# bench on an encoder-decoder: pp encodes, tg decodes after a one-token input, ttft includes the start token.
if "$TINYLLM" bench -m "$M" -p 16 -n 4 -r 1 --ttft --json >"$TMP/bench.json" 2>"$TMP/err.txt" &&
  [ "$(json_get "$TMP/bench.json" 'j.pp.tokens_per_s.median > 0 && j.tg.tokens_per_s.median > 0 && j.ttft_ms_128 > 0')" = true ]; then
  pass "bench pp/tg/ttft"
else fail "bench: $(cat "$TMP/err.txt") $(cat "$TMP/bench.json")"; fi
finish

# tinyllm bench: the JSON report and its bad-input errors (speed itself is not checked here).
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf

"$TINYLLM" bench -m "$M" -p 16 -n 8 -r 2 -t 1 --json >"$TMP/b.json" 2>"$TMP/b.err" || fail "bench --json exited $? ($(cat "$TMP/b.err"))"
[ "$(wc -l <"$TMP/b.json")" -eq 1 ] && pass "bench --json prints one line" || fail "bench --json output: $(cat "$TMP/b.json")"
[ "$(json_get "$TMP/b.json" '[j.model, j.type, j.threads, j.pp.tokens, j.tg.tokens, j.pp.samples.length, j.tg.samples.length].join(" ")')" = "stories260K.gguf f32 1 16 8 2 2" ] \
  && pass "bench --json fields" || fail "bench --json fields: $(cat "$TMP/b.json")"
check='["pp","tg"].every(k => { const s = j[k].tokens_per_s; return s.min > 0 && s.min <= s.median && s.median <= s.max; })'
[ "$(json_get "$TMP/b.json" "$check")" = "true" ] && pass "bench rates: 0 < min <= median <= max" || fail "bench rates: $(cat "$TMP/b.json")"
[ "$(json_get "$TMP/b.json" 'j.load_ms > 0 && j.peak_rss_mb > 0 && j.file_size > 0')" = "true" ] \
  && pass "bench load_ms, peak_rss_mb, file_size" || fail "bench load/rss: $(cat "$TMP/b.json")"
[ "$(json_get "$TMP/b.json" 'j.kv_cache.key + " " + j.kv_cache.value')" = "f16 f16" ] && pass "bench KV cache defaults to f16" \
  || fail "bench kv_cache: $(cat "$TMP/b.json")"
"$TINYLLM" bench -m "$M" -p 4 -n 2 -r 1 -t 1 --cache-type-k f32 --cache-type-v f32 --json >"$TMP/kv.json" || fail "bench --cache-type-k/-v exited $?"
[ "$(json_get "$TMP/kv.json" 'j.kv_cache.key + " " + j.kv_cache.value')" = "f32 f32" ] && pass "bench --cache-type-k/-v" \
  || fail "bench --cache-type-k/-v: $(cat "$TMP/kv.json")"

# The context options of `run`: -c (default: what the tests need), -b, the KV cache types in any case.
"$TINYLLM" bench -m "$M" -p 8 -n 4 -r 1 -t 1 -c 64 -b 4 --cache-type-k F32 --cache-type-v F32 --json >"$TMP/c.json" 2>"$TMP/c.err"
[ "$(json_get "$TMP/c.json" '[j.n_ctx, j.n_batch, j.kv_cache.key, j.kv_cache.value].join(" ")' 2>/dev/null)" = "64 4 f32 f32" ] \
  && pass "bench -c -b --cache-type-k/-v" || fail "bench context options: $(cat "$TMP/c.json" "$TMP/c.err")"
[ "$(json_get "$TMP/b.json" '[j.n_ctx, j.n_batch].join(" ")')" = "17 512" ] && pass "bench context defaults to the tests' need" \
  || fail "bench default n_ctx: $(cat "$TMP/b.json")"
expect_error "bench -c too small" "^tinyllm bench: -c 8 is too small for the tests: they need 17 tokens" -- \
  "$TINYLLM" bench -m "$M" -p 16 -n 4 -r 1 -c 8
"$TINYLLM" bench -m "$M" -p 8 -n 4 -r 1 -t 1 -c 32 | grep -q "context 32, KV cache f16/f16" && pass "bench text: context" \
  || fail "bench text without the context size"

# -n 0 skips tg; --ttft adds the time to first token.
"$TINYLLM" bench -m "$M" -p 8 -n 0 -r 1 -t 1 --ttft --json >"$TMP/p.json" || fail "bench -n 0 exited $?"
[ "$(json_get "$TMP/p.json" '[j.pp.tokens, j.tg === undefined, j.ttft_ms_128 > 0].join(" ")')" = "8 true true" ] \
  && pass "bench -n 0 --ttft" || fail "bench -n 0 --ttft: $(cat "$TMP/p.json")"
# --batch-cost alone: one entry per k, relative to the first, in a context of 128 + the largest k + 1.
"$TINYLLM" bench -m "$M" -p 0 -n 0 -r 1 -t 1 --batch-cost 1,4,16 --json >"$TMP/k.json" || fail "bench --batch-cost exited $?"
[ "$(json_get "$TMP/k.json" 'j.batch_cost.map(c => c.k + ":" + (c.ms > 0)).join(" ") + " " + j.batch_cost[0].relative + " " + j.n_ctx + " " + (j.pp === undefined)')" = "1:true 4:true 16:true 1 145 true" ] \
  && pass "bench --batch-cost" || fail "bench --batch-cost: $(cat "$TMP/k.json")"
expect_error "bench --batch-cost 0" "^tinyllm bench: --batch-cost expects up to 32 comma-separated counts between 1 and 512, got '2,0'$" -- \
  "$TINYLLM" bench -m "$M" --batch-cost 2,0
# The text report is a table with one row per test.
"$TINYLLM" bench -m "$M" -p 8 -n 4 -r 1 -t 1 >"$TMP/t.txt" || fail "bench text exited $?"
grep -q "| pp8 " "$TMP/t.txt" && grep -q "| tg4 " "$TMP/t.txt" && pass "bench text table" || fail "bench text: $(cat "$TMP/t.txt")"

expect_error "bench without a model" "no model given" -- "$TINYLLM" bench -p 8
expect_error "bench on a missing file" "cannot open" -- "$TINYLLM" bench -m "$TMP/nope.gguf"
expect_error "bench -r 0" "--repetitions must be between 1" -- "$TINYLLM" bench -m "$M" -r 0
expect_error "bench -p -1" "--n-prompt must be between 0" -- "$TINYLLM" bench -m "$M" -p -1
expect_error "bench -n abc" "--n-gen expects an integer" -- "$TINYLLM" bench -m "$M" -n abc
expect_error "bench -b -1" "^tinyllm bench: --batch-size must be between 0 and 1048576, got '-1'$" -- "$TINYLLM" bench -m "$M" -b -1
expect_error "bench -t 1000" "--threads must be between 0" -- "$TINYLLM" bench -m "$M" -t 1000
expect_error "bench bad cache type" "--cache-type-k must be f32, f16 or q8_0" -- "$TINYLLM" bench -m "$M" --cache-type-k q4_0
expect_error "bench -p 0 -n 0" "nothing to measure" -- "$TINYLLM" bench -m "$M" -p 0 -n 0
expect_error "bench unknown option" "unknown option '--bogus'" -- "$TINYLLM" bench -m "$M" --bogus
expect_error "bench stray argument" "unexpected argument" -- "$TINYLLM" bench -m "$M" extra
finish

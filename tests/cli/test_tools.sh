# tinyllm info, tokenize, detokenize and logits.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf

"$TINYLLM" info -m "$M" >"$TMP/info.txt" || fail "info exited $?"
grep -q "architecture:   llama" "$TMP/info.txt" && grep -q "512 tokens" "$TMP/info.txt" && pass "info text" || fail "info text: $(cat "$TMP/info.txt")"
"$TINYLLM" info -m "$M" --json >"$TMP/info.json" || fail "info --json exited $?"
[ "$(json_get "$TMP/info.json" '[j.architecture, j.vocab_size, j.tensor_count, j.context_length, j.chat_template, j.tensor_types.f32].join(" ")')" = "llama 512 48 2048 false 48" ] \
  && pass "info --json" || fail "info --json: $(cat "$TMP/info.json")"
# A vocabulary-only file is described too.
V=$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-qwen2.gguf
if [ -e "$V" ]; then
  "$TINYLLM" info -m "$V" --json >"$TMP/v.json" && [ "$(json_get "$TMP/v.json" 'j.vocab_type + " " + j.pre_tokenizer')" = "gpt2 qwen2" ] \
    && pass "info on a vocab-only file" || fail "info on vocab-only file"
fi

[ "$("$TINYLLM" tokenize -m "$M" "Once upon a time")" = "1 403 407 261 378" ] && pass "tokenize" || fail "tokenize"
[ "$("$TINYLLM" tokenize -m "$M" --no-bos "Once upon a time")" = "403 407 261 378" ] && pass "tokenize --no-bos" || fail "tokenize --no-bos"
# The text as -p TEXT or -f FILE too (the error without text names both).
[ "$("$TINYLLM" tokenize -m "$M" -p "Once upon a time")" = "1 403 407 261 378" ] && pass "tokenize -p" || fail "tokenize -p"
printf 'Once upon a time' >"$TMP/tok.txt"
[ "$("$TINYLLM" tokenize -m "$M" -f "$TMP/tok.txt")" = "1 403 407 261 378" ] && pass "tokenize -f" || fail "tokenize -f"
expect_error "tokenize without text" "use -p TEXT or -f FILE" -- "$TINYLLM" tokenize -m "$M"
expect_error "tokenize TEXT and -p" "not both" -- "$TINYLLM" tokenize -m "$M" -p a b
[ "$("$TINYLLM" detokenize -m "$M" 403 407 261 378)" = " Once upon a time" ] && pass "detokenize" || fail "detokenize: '$("$TINYLLM" detokenize -m "$M" 403 407 261 378)'"

"$TINYLLM" logits -m "$M" -p "Once upon a time" --top 3 --json >"$TMP/l.json" || fail "logits exited $?"
[ "$(json_get "$TMP/l.json" 'j.tokens.join(" ") + " | " + j.top.map(p=>p[0]).join(" ")')" = "1 403 407 261 378 | 432 383 322" ] \
  && pass "logits --json" || fail "logits --json: $(cat "$TMP/l.json")"
[ "$(json_get "$TMP/l.json" 'Math.abs(j.top[0][1] - 17.799397) < 1e-3')" = "true" ] && pass "logits value" || fail "logits value"
"$TINYLLM" logits -m "$M" -p "Once upon a time" --top 2 | grep -q "432" && pass "logits text" || fail "logits text"
# The context options of `run`: -c (a prompt longer than the context is refused), -b, the KV cache types.
expect_error "logits -c 4" "^tinyllm logits: the prompt has 5 tokens, more than the context size of 4 \(use -c\)$" -- \
  "$TINYLLM" logits -m "$M" -p "Once upon a time" -c 4
"$TINYLLM" logits -m "$M" -p "Once upon a time" --top 3 --json -c 5 -b 2 --cache-type-k F32 --cache-type-v f32 >"$TMP/lc.json" \
  || fail "logits with context options exited $?"
[ "$(json_get "$TMP/lc.json" 'j.top.map(p=>p[0]).join(" ") + " " + (Math.abs(j.top[0][1] - 17.799397) < 1e-3)')" = "432 383 322 true" ] \
  && pass "logits -c -b --cache-type-k/-v" || fail "logits context options: $(cat "$TMP/lc.json")"
expect_error "logits bad cache type" "^tinyllm logits: --cache-type-k must be f32, f16 or q8_0, got 'q4_0'$" -- \
  "$TINYLLM" logits -m "$M" -p "Once upon a time" --cache-type-k q4_0
"$TINYLLM" logits --help | grep -q -- "--cache-type-k" && pass "logits --help lists the context options" || fail "logits --help"

# Type names in any case: synth --type Q4_K_M / F32 as llama-quantize writes them.
V=$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf
if [ -e "$V" ]; then
  "$TINYLLM" synth --preset smollm2-135m --tiny --type Q4_K_M --vocab "$V" -o "$TMP/upper.gguf" 2>"$TMP/synth.err" &&
    "$TINYLLM" synth --preset smollm2-135m --tiny --type q4_k_m --vocab "$V" -o "$TMP/lower.gguf" 2>/dev/null &&
    cmp -s "$TMP/upper.gguf" "$TMP/lower.gguf" && pass "synth --type Q4_K_M" || fail "synth --type Q4_K_M: $(cat "$TMP/synth.err")"
  "$TINYLLM" synth --preset smollm2-135m --tiny --type F32 --vocab "$V" -o "$TMP/f32.gguf" 2>/dev/null &&
    "$TINYLLM" info -m "$TMP/f32.gguf" --json >"$TMP/f32.json" && [ "$(json_get "$TMP/f32.json" 'Object.keys(j.tensor_types).join()')" = f32 ] \
    && pass "synth --type F32" || fail "synth --type F32: $(cat "$TMP/f32.json" 2>/dev/null)"
  rm -f "$TMP/upper.gguf" "$TMP/lower.gguf" "$TMP/f32.gguf"
fi
finish

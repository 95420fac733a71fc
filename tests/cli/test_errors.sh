# Every bad input to the CLI: one line on stderr naming the problem, exit 1.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf

expect_error "no command" "usage|tinyllm" -- "$TINYLLM" bogus-command
expect_error "unknown option" "unknown option '--bogus'" -- "$TINYLLM" run -m "$M" -p hi --bogus
expect_error "bad integer" "\-\-n-predict expects an integer, got 'abc'" -- "$TINYLLM" run -m "$M" -p hi -n abc
expect_error "bad float" "\-\-temp expects a number" -- "$TINYLLM" run -m "$M" -p hi --temp x
expect_error "out of range" "\-\-top-p must be between" -- "$TINYLLM" run -m "$M" -p hi --top-p 2
expect_error "missing value" "\-\-temp needs a value" -- "$TINYLLM" run -m "$M" -p hi --temp
expect_error "no model" "no model given" -- "$TINYLLM" run -p hi
expect_error "no prompt" "no prompt given" -- "$TINYLLM" run -m "$M"
expect_error "both prompts" "not both" -- "$TINYLLM" run -m "$M" -p hi -f /dev/null
expect_error "missing prompt file" "cannot open prompt file" -- "$TINYLLM" run -m "$M" -f "$TMP/nope.txt"
expect_error "missing model" "nope.gguf" -- "$TINYLLM" run -m "$TMP/nope.gguf" -p hi
expect_error "not gguf" "bad magic|not a GGUF" -- "$TINYLLM" run -m "$0" -p hi
# A file from before GGUF says what it is and how to convert it.
G=$SHARED/models/tinyllama-v0-5m-ggjtv3-q4_0.bin
if [ -e "$G" ]; then
  expect_error "legacy GGJT v3 file" "^tinyllm run: $G: legacy GGJT v3 file \(pre-GGUF llama.cpp format\); convert it to GGUF with 'tinyllm convert --from ggml $G OUT.gguf'$" -- \
    "$TINYLLM" run -m "$G" -p hi
  expect_error "legacy file: info" "legacy GGJT v3 file" -- "$TINYLLM" info -m "$G"
else
  echo "skip: $G absent (legacy GGJT test)"
fi
# Limits print as whole numbers, not 1.04858e+06 or 1e+09.
expect_error "integer limit" "^tinyllm run: --ctx-size must be between 0 and 1048576, got '-5'$" -- "$TINYLLM" run -m "$M" -p hi -c -5
expect_error "integer limit 1e9" "^tinyllm run: --n-predict must be between -1 and 1000000000, got '-2'$" -- "$TINYLLM" run -m "$M" -p hi -n -2
expect_error "decimal limit" "^tinyllm run: --top-p must be between 0 and 1, got '2'$" -- "$TINYLLM" run -m "$M" -p hi --top-p 2
# Type names in any case (as llama-quantize writes them).
expect_error "cache type in capitals" "multiple of 32" -- "$TINYLLM" run -m "$M" -p hi --cache-type-v Q8_0
expect_error "bad cache type in capitals" "got 'Q4_K'" -- "$TINYLLM" run -m "$M" -p hi --cache-type-k Q4_K
expect_error "info on missing" "nope.gguf" -- "$TINYLLM" info -m "$TMP/nope.gguf"
expect_error "bad cache type" "\-\-cache-type-k must be f32, f16 or q8_0, got 'q4_k'" -- "$TINYLLM" run -m "$M" -p hi --cache-type-k q4_k
expect_error "q8_0 cache on small heads" "multiple of 32" -- "$TINYLLM" run -m "$M" -p hi --cache-type-v q8_0
expect_error "bad logit bias" "\-\-logit-bias expects" -- "$TINYLLM" run -m "$M" -p hi --logit-bias 99999+1
expect_error "prompt too long" "more than the context size of 4" -- "$TINYLLM" run -m "$M" -p "Once upon a time there was" -c 4
# A 50 MB prompt file is refused at once, without tokenizing all of it (it
# once took 22 s and 1.5 GB before the context check).
yes "Once upon a time, there was a little girl named Lily." | head -c 52428800 >"$TMP/big-prompt.txt"
t0=$(date +%s%N)
expect_error "50 MB prompt" "^tinyllm run: the prompt is too long: more than 8192 tokens, more than the context size of 2048 \(use -c\)$" -- \
  "$TINYLLM" run -m "$M" -f "$TMP/big-prompt.txt" -c 2048
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
limit=5000; [ "${TL_SANITIZE:-0}" = 1 ] && limit=60000
if [ "$ms" -lt "$limit" ]; then pass "50 MB prompt refused in $ms ms"; else fail "50 MB prompt refused only after $ms ms"; fi
if [ -x /usr/bin/time ] && [ "${TL_SANITIZE:-0}" != 1 ]; then
  /usr/bin/time -f %M -o "$TMP/rss.txt" "$TINYLLM" run -m "$M" -f "$TMP/big-prompt.txt" -c 2048 2>/dev/null
  rss=$(tail -n 1 "$TMP/rss.txt")
  # the file is read whole (50 MB); its tokens are not made
  if [ "$rss" -lt 150000 ]; then pass "50 MB prompt: peak memory $rss kB"; else fail "50 MB prompt: peak memory $rss kB"; fi
fi
rm -f "$TMP/big-prompt.txt"
expect_error "bad token id" "not a token id" -- "$TINYLLM" detokenize -m "$M" 1 512
expect_error "bad token text" "not a token id" -- "$TINYLLM" detokenize -m "$M" 1 x
expect_error "tokenize no model" "no model given" -- "$TINYLLM" tokenize hello
expect_error "unexpected argument" "unexpected argument 'extra'" -- "$TINYLLM" run -m "$M" -p hi extra
expect_error "synth bad preset" "unknown preset" -- "$TINYLLM" synth --preset nope -o "$TMP/x.gguf" --vocab "$M"
expect_error "unsupported arch" "architecture 'mpt' is not supported" -- "$TINYLLM" run -m "$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-mpt.gguf" -p hi

# Truncated and corrupted model files.
head -c 100 "$M" >"$TMP/trunc.gguf"
expect_error "truncated model" "trunc.gguf" -- "$TINYLLM" run -m "$TMP/trunc.gguf" -p hi
head -c 1000000 "$M" >"$TMP/trunc2.gguf"
expect_error "truncated data" "trunc2.gguf" -- "$TINYLLM" run -m "$TMP/trunc2.gguf" -p hi

# --help works for every command and exits 0.
for c in run info tokenize detokenize logits synth; do
  if "$TINYLLM" "$c" --help >"$TMP/help.txt" 2>&1 && grep -q "usage: tinyllm $c" "$TMP/help.txt"; then pass "$c --help"
  else fail "$c --help"; fi
done
"$TINYLLM" --help | grep -q "commands:" && pass "tinyllm --help" || fail "tinyllm --help"
# synth --help: presets in columns as wide as the longest name, and the
# architectures of the model table.
cols=$("$TINYLLM" synth --help | awk '/[(]vocabulary /{print index($0, "(vocabulary ")}' | sort -u)
[ -n "$cols" ] && [ "$(printf '%s\n' "$cols" | wc -l)" -eq 1 ] && pass "synth --help presets in columns" \
  || fail "synth --help: the presets' vocabularies start in columns" $cols
"$TINYLLM" synth --help | grep -q "^architectures: llama, .*nomic-bert.*t5" && pass "synth --help architectures" \
  || fail "synth --help lists no architectures"
finish

# `tinyllm convert --from ggml|llama2c`: the shared GGJT v3 Q4_0 model converts with its tensor bytes
# unchanged and generates the text recorded for it; a llama2.c checkpoint with Llama 2's tokenizer.bin
# converts and runs; bad inputs give one line on stderr, exit 1 and leave no output behind.
# (tests/unit/test_convert_legacy.c checks the converters in depth: round trips of stories260K.)
source "$(dirname "$0")/lib.sh"
need_shared models/tinyllama-v0-5m-ggjtv3-q4_0.bin
G=$SHARED/models/tinyllama-v0-5m-ggjtv3-q4_0.bin
OUT=$TMP/tinyllama.gguf

# expect_no_output NAME FILE: neither FILE nor FILE.tmp exists.
expect_no_output() {
  [ ! -e "$2" ] && [ ! -e "$2.tmp" ] && pass "$1: no output left" || fail "$1: $2 or $2.tmp left behind"
}

# --- GGJT v3 Q4_0 ----------------------------------------------------------------------------------
if "$TINYLLM" convert --from ggml "$G" "$OUT" >"$TMP/out" 2>"$TMP/err" && [ ! -s "$TMP/out" ]; then
  pass "convert --from ggml: $(cat "$TMP/err")"
else
  fail "convert --from ggml failed: $(cat "$TMP/out" "$TMP/err")"
fi
[ ! -e "$OUT.tmp" ] && pass "no OUT.tmp after success" || fail "$OUT.tmp left after success"
info=$("$TINYLLM" info -m "$OUT" 2>&1)
grep -q "tensors: *75 (f32: 17, q4_0: 58)" <<<"$info" && pass "75 tensors, 58 q4_0" || fail "info: $info"
grep -q "vocabulary: *llama, 32000 tokens" <<<"$info" && pass "32000-token llama vocabulary" || fail "info: $info"

# Every tensor's data of the source is in the GGUF byte for byte (a walk of the GGJT file).
if command -v python3 >/dev/null; then
  if python3 - "$G" "$OUT" >"$TMP/py" 2>&1 <<'EOF'
import struct, sys
src = open(sys.argv[1], "rb").read()
out = open(sys.argv[2], "rb").read()
hp = struct.unpack_from("<7I", src, 8)
pos = 36
for _ in range(hp[0]):
    (n,) = struct.unpack_from("<I", src, pos)
    pos += 4 + n + 4
count = 0
while pos < len(src):
    n_dims, name_len, typ = struct.unpack_from("<3I", src, pos)
    dims = struct.unpack_from("<%dI" % n_dims, src, pos + 12)
    name = src[pos + 12 + 4 * n_dims:pos + 12 + 4 * n_dims + name_len].decode()
    pos = (pos + 12 + 4 * n_dims + name_len + 31) // 32 * 32
    n = 1
    for d in dims:
        n *= d
    size = {0: n * 4, 1: n * 2, 2: n // 32 * 18}[typ]
    if out.find(src[pos:pos + size]) < 0:
        sys.exit("%s: data not found in the GGUF" % name)
    pos += size
    count += 1
print(count)
EOF
  then
    pass "every tensor's bytes carried over ($(cat "$TMP/py") tensors)"
  else
    fail "tensor bytes: $(cat "$TMP/py")"
  fi
else
  echo "tensor byte check skipped: python3 is not installed"
fi

# Greedy text of a TinyStories prompt: English of TinyStories (wrong blocks or a wrong q/k layout give other,
# broken text). The exact words depend on the instruction set (8-bit activations rounded after sums in its
# order): x86 with AVX2 gives " She had a big, red ball. She loved to play with her ball all day.", qemu
# aarch64 " She loved to play with her toy bear. ..." (tests/unit/test_convert_legacy.c).
got=$("$TINYLLM" run -m "$OUT" -p "Once upon a time, there was a little girl named Lily." -n 18 --temp 0 \
  -t 1 --cache-type-k f32 --cache-type-v f32 2>/dev/null)
common=$(tr -cs 'A-Za-z' '\n' <<<"$got" | tr 'A-Z' 'a-z' |
  grep -cxE 'she|he|they|the|a|and|to|was|her|his|with|play|day|big|one|lily|loved|had|very|happy|found|all|in|it|of|said|went|saw')
[[ "$got" == " She "* ]] && [ "$common" -ge 6 ] && pass "greedy text: '$got'" \
  || fail "greedy text '$got': not TinyStories English ($common common words)"

# --- llama2.c --------------------------------------------------------------------------------------
TOK=$SHARED/tokenizers/llama2-sentencepiece/tokenizer.bin
if [ -e "$TOK" ] && command -v python3 >/dev/null; then
  # A random llama2.c checkpoint: dim 16, hidden 32, 1 layer, 2 heads, vocab VOCAB (shared), seq_len 32.
  write_llama2c() {
    python3 - "$1" "$2" <<'EOF'
import random, struct, sys
vocab = int(sys.argv[2])
dim, hidden, layers, heads, kv_heads, seq = 16, 32, 1, 2, 2, 32
random.seed(7)
n = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seq * (dim // heads)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab, seq))
    f.write(struct.pack("<%df" % n, *[random.uniform(-0.5, 0.5) for _ in range(n)]))
EOF
  }
  write_llama2c "$TMP/model.bin" 32000
  if "$TINYLLM" convert --from llama2c "$TMP/model.bin" "$TOK" "$TMP/l2c.gguf" 2>"$TMP/err"; then
    pass "convert --from llama2c: $(cat "$TMP/err")"
    info=$("$TINYLLM" info -m "$TMP/l2c.gguf" 2>&1)
    grep -q "shape: *1 layers, embedding 16, feed-forward 32, 2 heads" <<<"$info" && grep -q "llama, 32000 tokens" <<<"$info" \
      && pass "llama2c: shape and vocabulary" || fail "llama2c info: $info"
    toks=$("$TINYLLM" tokenize -m "$TMP/l2c.gguf" "Hello world" 2>&1)
    ref=$("$TINYLLM" tokenize -m "$SHARED/models/llama2-tiny-random.gguf" "Hello world" 2>&1)
    [ -n "$toks" ] && [ "$toks" = "$ref" ] && pass "llama2c vocabulary tokenizes as Llama 2's" \
      || fail "tokens '$toks', Llama 2's '$ref'"
    "$TINYLLM" run -m "$TMP/l2c.gguf" -p "Hello" -n 4 --temp 0 >/dev/null 2>"$TMP/err" \
      && pass "llama2c model runs" || fail "run: $(cat "$TMP/err")"
  else
    fail "convert --from llama2c: $(cat "$TMP/err")"
  fi
  write_llama2c "$TMP/small.bin" 512
  expect_error "llama2c: vocab_size mismatch" "^tinyllm convert: $TOK: offset [0-9]+: more than the model's 512 tokens \(vocab_size mismatch\)$" -- \
    "$TINYLLM" convert --from llama2c "$TMP/small.bin" "$TOK" "$TMP/bad.gguf"
  expect_no_output "vocab_size mismatch" "$TMP/bad.gguf"
  head -c 1000 "$TMP/small.bin" >"$TMP/cut.bin"
  expect_error "llama2c: truncated checkpoint" "^tinyllm convert: $TMP/cut.bin: 1000 bytes, but its header \(.*\) makes [0-9]+$" -- \
    "$TINYLLM" convert --from llama2c "$TMP/cut.bin" "$TOK" "$TMP/bad.gguf"
  expect_no_output "truncated checkpoint" "$TMP/bad.gguf"
  head -c 12 "$TMP/small.bin" >"$TMP/cut.bin"
  expect_error "llama2c: truncated header" "$TMP/cut.bin: offset 12: the Config header cut short" -- \
    "$TINYLLM" convert --from llama2c "$TMP/cut.bin" "$TOK" "$TMP/bad.gguf"
  expect_error "llama2c: missing tokenizer" "tinyllm convert: $TMP/nope.bin: cannot open" -- \
    "$TINYLLM" convert --from llama2c "$TMP/small.bin" "$TMP/nope.bin" "$TMP/bad.gguf"
  expect_no_output "missing tokenizer" "$TMP/bad.gguf"
else
  echo "llama2c checks skipped: $TOK or python3 is not there"
fi

# --- bad GGML inputs and arguments ----------------------------------------------------------------
head -c 2000000 "$G" >"$TMP/cut.bin"
expect_error "ggml: truncated" "^tinyllm convert: $TMP/cut.bin: offset [0-9]+: the data of tensor '.*' \([0-9]+ bytes\) runs past the end of the file \(2000000 bytes\)$" -- \
  "$TINYLLM" convert --from ggml "$TMP/cut.bin" "$TMP/bad.gguf"
expect_no_output "ggml: truncated" "$TMP/bad.gguf"
printf 'tjgg\007\000\000\000' >"$TMP/v7.bin"
expect_error "ggml: unknown version" "$TMP/v7.bin: offset 4: unknown GGJT version 7 \(known: 1 to 3\)" -- \
  "$TINYLLM" convert --from ggml "$TMP/v7.bin" "$TMP/bad.gguf"
expect_error "ggml: wrong magic" "$0: offset 0: not a GGML, GGMF or GGJT file" -- \
  "$TINYLLM" convert --from ggml "$0" "$TMP/bad.gguf"
expect_error "ggml: a GGUF input" "already a GGUF file" -- "$TINYLLM" convert --from ggml "$OUT" "$TMP/bad.gguf"
expect_no_output "ggml: bad inputs" "$TMP/bad.gguf"
expect_error "--type with --from ggml" "\-\-type does not apply to \-\-from ggml" -- \
  "$TINYLLM" convert --from ggml "$G" "$TMP/bad.gguf" --type q8_0
expect_error "ggml: wrong arguments" "expected FILE.bin OUT.gguf after \-\-from ggml" -- \
  "$TINYLLM" convert --from ggml "$G"
expect_error "llama2c: wrong arguments" "expected MODEL.bin TOKENIZER.bin OUT.gguf after \-\-from llama2c" -- \
  "$TINYLLM" convert --from llama2c "$G" "$TMP/bad.gguf"
expect_error "unknown --from" "unknown \-\-from 'pth' \(hf, llama2c, ggml\)" -- "$TINYLLM" convert --from pth a b
# A legacy file given to run names the command that converts it.
expect_error "run on a GGJT file" "convert it to GGUF with 'tinyllm convert \-\-from ggml .* OUT.gguf'$" -- \
  "$TINYLLM" run -m "$G" -p hi

finish

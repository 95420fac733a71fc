# Every decoder family end to end: `synth --tiny` writes each preset's architecture with its real
# vocabulary, `info` recognises it, `run` generates deterministically (greedy), `bench` measures it,
# and the preset's file without --tiny has the real shape (checked through info on the smallest).
# The nomic-bert encoder likewise: info, embed (deterministic unit vectors), bench (prompt only).
source "$(dirname "$0")/lib.sh"
need_shared tokenizers/llama.cpp-vocab/ggml-vocab-phi-3.gguf tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf \
  tokenizers/gemma3/tokenizer.json tokenizers/llama.cpp-vocab/ggml-vocab-qwen2.gguf \
  tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf
export TINYLLM_SHARED=$SHARED

for spec in phi3-mini:phi3 gemma-2b:gemma gemma2-2b:gemma2 gemma3-270m:gemma3 stablelm2-1.6b:stablelm \
  qwen3-0.6b:qwen3; do
  preset=${spec%%:*} arch=${spec##*:}
  M=$TMP/$preset.gguf
  if ! "$TINYLLM" synth --preset "$preset" --tiny --type q8_0 -o "$M" 2>"$TMP/err.txt"; then
    fail "$preset: synth: $(cat "$TMP/err.txt")"; continue
  fi
  "$TINYLLM" info -m "$M" --json >"$TMP/info.json" 2>/dev/null || fail "$preset: info exited $?"
  [ "$(json_get "$TMP/info.json" 'j.architecture')" = "$arch" ] && pass "$preset: architecture $arch" ||
    fail "$preset: info says $(json_get "$TMP/info.json" 'j.architecture')"
  for i in 1 2; do
    "$TINYLLM" run -m "$M" -p "Hello there, little model" -n 12 --temp 0 --ignore-eos --json \
      >"$TMP/run$i.json" 2>"$TMP/err.txt" || fail "$preset: run exited $?: $(cat "$TMP/err.txt")"
  done
  n=$(json_get "$TMP/run1.json" 'j.tokens.length')
  [ "$n" = 12 ] && pass "$preset: 12 tokens generated" || fail "$preset: generated $n tokens"
  [ "$(json_get "$TMP/run1.json" 'j.text + j.tokens')" = "$(json_get "$TMP/run2.json" 'j.text + j.tokens')" ] &&
    pass "$preset: greedy run is deterministic" ||
    fail "$preset: two greedy runs differ"
  "$TINYLLM" bench -m "$M" -p 32 -n 8 -r 1 --json >"$TMP/bench.json" 2>/dev/null &&
    [ "$(json_get "$TMP/bench.json" 'j.pp.tokens_per_s.median > 0 && j.tg.tokens_per_s.median > 0')" = true ] &&
    pass "$preset: bench" || fail "$preset: bench"
done

# A real shape: gemma3-270m's hyper-parameters as written by the converter.
"$TINYLLM" synth --preset gemma3-270m --type q8_0 -o "$TMP/g3.gguf" 2>/dev/null || fail "gemma3-270m real shape"
"$TINYLLM" info -m "$TMP/g3.gguf" --json >"$TMP/info.json" 2>/dev/null
[ "$(json_get "$TMP/info.json" '[j.block_count, j.embedding_length, j.head_count, j.head_count_kv, j.vocab_size].join()')" \
  = "18,640,4,1,262144" ] && pass "gemma3-270m shape" || fail "gemma3-270m shape: $(cat "$TMP/info.json")"

# nomic-embed-text: an encoder, so embeddings instead of generation.
M=$TMP/nomic.gguf
if "$TINYLLM" synth --preset nomic-embed-text-v1.5 --tiny --type q8_0 -o "$M" 2>"$TMP/err.txt"; then
  "$TINYLLM" info -m "$M" --json >"$TMP/info.json" 2>/dev/null || fail "nomic: info exited $?"
  [ "$(json_get "$TMP/info.json" 'j.architecture')" = nomic-bert ] && pass "nomic: architecture nomic-bert" ||
    fail "nomic: info says $(json_get "$TMP/info.json" 'j.architecture')"
  for i in 1 2; do
    "$TINYLLM" embed -m "$M" --json "search_query: what is a rotary position?" >"$TMP/embed$i.json" 2>"$TMP/err.txt" ||
      fail "nomic: embed exited $?: $(cat "$TMP/err.txt")"
  done
  [ "$(json_get "$TMP/embed1.json" 'Math.abs(Math.hypot(...j.data[0].embedding) - 1) < 1e-4 && j.dim')" = 128 ] &&
    pass "nomic: one unit vector of 128" || fail "nomic: embed gave $(head -c 200 "$TMP/embed1.json")"
  cmp -s "$TMP/embed1.json" "$TMP/embed2.json" && pass "nomic: embed is deterministic" || fail "nomic: two embeds differ"
  "$TINYLLM" bench -m "$M" -p 32 -n 8 -r 1 --json >"$TMP/bench.json" 2>/dev/null &&
    [ "$(json_get "$TMP/bench.json" 'j.pp.tokens_per_s.median > 0')" = true ] &&
    pass "nomic: bench" || fail "nomic: bench"
else
  fail "nomic: synth: $(cat "$TMP/err.txt")"
fi

# An architecture outside the table is refused with the table's names (the same file, renamed).
node -e 'const fs = require("fs"), b = fs.readFileSync(process.argv[1]), i = b.indexOf("nomic-bert");
  b.write("nomic-berX", i); fs.writeFileSync(process.argv[2], b)' "$TMP/nomic.gguf" "$TMP/unknown.gguf"
"$TINYLLM" embed -m "$TMP/unknown.gguf" hello >/dev/null 2>"$TMP/err.txt" && fail "unknown architecture: loaded"
grep -q "architecture 'nomic-berX' is not supported (supported: llama, qwen2, qwen3, .*, nomic-bert, t5)" "$TMP/err.txt" &&
  [ "$(wc -l <"$TMP/err.txt")" = 1 ] && pass "unknown architecture: one line naming the table's rows" ||
  fail "unknown architecture: $(cat "$TMP/err.txt")"

# The real shape of nomic-embed-text-v1.5 (the Qwen3 ones take 20 s and more to write).
"$TINYLLM" synth --preset nomic-embed-text-v1.5 --type q8_0 -o "$TMP/nomic-real.gguf" 2>/dev/null ||
  fail "nomic-embed-text-v1.5 real shape"
"$TINYLLM" info -m "$TMP/nomic-real.gguf" --json >"$TMP/info.json" 2>/dev/null
[ "$(json_get "$TMP/info.json" '[j.block_count, j.embedding_length, j.head_count, j.context_length, j.vocab_size].join()')" \
  = "12,768,12,2048,30522" ] && pass "nomic-embed-text-v1.5 shape" ||
  fail "nomic-embed-text-v1.5 shape: $(cat "$TMP/info.json")"
finish

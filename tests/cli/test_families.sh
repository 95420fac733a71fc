# Every decoder family end to end: `synth --tiny` writes each preset's architecture with its real
# vocabulary, `info` recognises it, `run` generates deterministically (greedy), `bench` measures it,
# and the preset's file without --tiny has the real shape (checked through info on the smallest).
source "$(dirname "$0")/lib.sh"
need_shared tokenizers/llama.cpp-vocab/ggml-vocab-phi-3.gguf tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf \
  tokenizers/gemma3/tokenizer.json
export TINYLLM_SHARED=$SHARED

for spec in phi3-mini:phi3 gemma-2b:gemma gemma2-2b:gemma2 gemma3-270m:gemma3 stablelm2-1.6b:stablelm; do
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
finish

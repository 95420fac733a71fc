# tinyllm serve under abuse: many slow clients, the header and body deadlines, the keep-alive idle
# timeout, the per-client and total connection caps, and 503 when every handler thread is busy
# (tests/server/limits_test.mjs starts its own servers), plus the bad values of the new options.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
M=$SHARED/models/stories260K.gguf

"$TINYLLM" synth --preset smollm2-135m --tiny --type q8_0 --seed 1 \
  --vocab "$SHARED/tokenizers/llama.cpp-vocab/ggml-vocab-smollm.gguf" -o "$TMP/smol.gguf" 2>/dev/null \
  || { echo "FAIL: synth smollm2"; exit 1; }
node "$(dirname "$0")/../server/limits_test.mjs" "$TINYLLM" "$M" "$TMP/smol.gguf" || fail "limits_test.mjs (see above)"

"$TINYLLM" serve --help >"$TMP/help.txt"
for flag in --header-timeout --body-timeout --idle-timeout --timeout --max-connections \
            --max-connections-per-client --connection-memory --threads-http; do
  grep -q -- "$flag " "$TMP/help.txt" || fail "--help does not list $flag"
done
pass "--help lists the connection options"
expect_error "bad --header-timeout" "--header-timeout.*soon" -- "$TINYLLM" serve -m "$M" --header-timeout soon
expect_error "zero --body-timeout" "--body-timeout.*0" -- "$TINYLLM" serve -m "$M" --body-timeout 0
expect_error "negative --idle-timeout" "--idle-timeout" -- "$TINYLLM" serve -m "$M" --idle-timeout -5s
expect_error "huge --timeout" "--timeout" -- "$TINYLLM" serve -m "$M" --timeout 1000h
expect_error "--max-connections 0" "--max-connections" -- "$TINYLLM" serve -m "$M" --max-connections 0
expect_error "negative --max-connections-per-client" "--max-connections-per-client" -- \
  "$TINYLLM" serve -m "$M" --max-connections-per-client -1
expect_error "tiny --connection-memory" "--connection-memory.*1K" -- "$TINYLLM" serve -m "$M" --connection-memory 1K
expect_error "--threads-http 0" "--threads-http" -- "$TINYLLM" serve -m "$M" --threads-http 0
finish

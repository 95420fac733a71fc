# tinyllm chat in script mode (stdin not a terminal): one reply per input line, deterministic with --temp 0,
# prompt re-use visible in the metrics line, old turns dropped when the context is small, --messages, and
# every error as one line with exit code 1.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf
METRICS='^\[([0-9]+) tokens, [0-9.]+ tok/s, [0-9.]+ ms/token, TTFT [0-9]+ ms, prompt ([0-9]+) new tokens \(([0-9]+) reused\), context ([0-9]+)/([0-9]+)\]$'

# chat_run NAME ARGS...: stdin from $TMP/in.txt, stdout to $TMP/NAME.out, stderr to $TMP/NAME.err.
chat_run() {
  local name=$1; shift
  "$TINYLLM" chat -m "$M" --temp 0 "$@" <"$TMP/in.txt" >"$TMP/$name.out" 2>"$TMP/$name.err"
}
# metrics NAME TURN FIELD: a field of the TURN-th metrics line (1: generated, 2: new prompt tokens, 3: reused,
# 4: context used, 5: context size).
metrics() { grep -E "$METRICS" "$TMP/$1.err" | sed -n "$2p" | sed -E "s#$METRICS#\\$(($3))#"; }

# Two lines give two replies, the same on every run.
printf 'Hello there\nTell me a story\n' >"$TMP/in.txt"
for i in 1 2; do chat_run "two$i" --chat-template chatml -n 16 || fail "chat exited $? ($(cat "$TMP/two$i.err"))"; done
[ "$(grep -cE "$METRICS" "$TMP/two1.err")" = 2 ] && [ -s "$TMP/two1.out" ] && pass "two lines, two replies" ||
  fail "two lines: stdout '$(cat "$TMP/two1.out")', stderr '$(cat "$TMP/two1.err")'"
cmp -s "$TMP/two1.out" "$TMP/two2.out" && pass "deterministic replies" || fail "replies differ between runs"
[ "$(metrics two1 1 1)" = 16 ] && [ "$(metrics two1 1 3)" = 0 ] && [ "$(metrics two1 1 5)" = 2048 ] &&
  pass "first turn metrics" || fail "first turn metrics: $(head -1 "$TMP/two1.err")"

# Prompt re-use: the second turn evaluates only what follows the cached prefix; at least the whole first
# prompt is re-used, so fewer tokens are evaluated than the rendered conversation (new + reused) has.
new=$(metrics two1 2 2) reused=$(metrics two1 2 3) first=$(metrics two1 1 2)
[ -n "$new" ] && [ "$reused" -ge "$first" ] && [ "$new" -lt $((new + reused)) ] &&
  pass "second turn re-uses the cache ($new new, $reused reused)" || fail "no prompt re-use: $(cat "$TMP/two1.err")"

# --bos: the model's vocabulary adds BOS; "off" leaves it out (one token fewer), "on" keeps exactly one.
printf 'Hello there\n' >"$TMP/in.txt"
for b in auto on off; do
  flag=(); [ "$b" = auto ] || flag=(--bos "$b")
  chat_run "bos_$b" --chat-template chatml -n 4 "${flag[@]}" || fail "--bos $b exited $?"
done
[ -n "$(metrics bos_auto 1 2)" ] && [ "$(metrics bos_on 1 2)" = "$(metrics bos_auto 1 2)" ] &&
  [ "$(metrics bos_off 1 2)" = $(($(metrics bos_auto 1 2) - 1)) ] && pass "--bos on|off" ||
  fail "--bos prompt sizes: auto $(metrics bos_auto 1 2), on $(metrics bos_on 1 2), off $(metrics bos_off 1 2)"

# A small context: old turns are dropped with a notice, and every line still gets its answer.
printf 'Hello\nHow are you\nTell me more\nAnd then\nBye now\n' >"$TMP/in.txt"
chat_run small --chat-template chatml --system "Be brief." -c 160 -n 24 || fail "small context exited $?"
[ "$(grep -cE "$METRICS" "$TMP/small.err")" = 5 ] && grep -q "dropped the oldest" "$TMP/small.err" &&
  [ "$(metrics small 5 1)" = 24 ] && [ "$(metrics small 5 5)" = 160 ] && [ "$(metrics small 5 4)" -le 160 ] &&
  pass "small context drops old turns" || fail "small context: $(cat "$TMP/small.err")"
[ "$(metrics small 5 3)" -gt 0 ] && pass "cache re-used after dropping" || fail "no re-use after dropping"

# The reply stops at the template's end-of-turn text (here " park", which the model soon writes) and leaves it out.
printf '{%% for m in messages %%}{{ m.role }}: {{ m.content }} park\n{%% endfor %%}{%% if add_generation_prompt %%}assistant:{%% endif %%}' >"$TMP/park.jinja"
printf 'Once upon a time\n' >"$TMP/in.txt"
chat_run park --chat-template "$TMP/park.jinja" -n 200 && [ "$(metrics park 1 1)" -lt 200 ] && ! grep -q park "$TMP/park.out" &&
  pass "stops at the template's end text" || fail "end text: $(cat "$TMP/park.out") $(cat "$TMP/park.err")"

# --messages: the conversation's last user message is answered, llama3 template, stdin not read.
printf '{"messages":[{"role":"system","content":"S"},{"role":"user","content":"Hi"}]}' >"$TMP/m.json"
: >"$TMP/in.txt"
chat_run msg1 --chat-template llama3 -n 8 --messages "$TMP/m.json" &&
  chat_run msg2 --chat-template llama3 -n 8 --messages "$TMP/m.json" &&
  [ "$(grep -cE "$METRICS" "$TMP/msg1.err")" = 1 ] && [ "$(metrics msg1 1 1)" = 8 ] && cmp -s "$TMP/msg1.out" "$TMP/msg2.out" &&
  pass "--messages" || fail "--messages: $(cat "$TMP/msg1.err")"

# Errors: one line each, exit 1.
printf 'hi\n' >"$TMP/in.txt"
expect_error "no model" "no model given" -- "$TINYLLM" chat --chat-template chatml
expect_error "missing model" "chat" -- "$TINYLLM" chat -m "$TMP/none.gguf"
expect_error "unknown template" "neither a built-in chat template" -- "$TINYLLM" chat -m "$M" --chat-template nope
expect_error "bad --bos" "--bos expects on or off, got 'yes'" -- "$TINYLLM" chat -m "$M" --bos yes
expect_error "missing messages file" "cannot open messages file" -- "$TINYLLM" chat -m "$M" --messages "$TMP/none.json"
printf '[{"role":' >"$TMP/bad.json"
expect_error "bad messages JSON" "not valid JSON" -- "$TINYLLM" chat -m "$M" --messages "$TMP/bad.json"
printf '{"role":"user"}' >"$TMP/obj.json"
expect_error "messages not a list" "expected a list of messages" -- "$TINYLLM" chat -m "$M" --messages "$TMP/obj.json"
printf '[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]' >"$TMP/last.json"
expect_error "last message not the user's" "last message must be the user's" -- "$TINYLLM" chat -m "$M" --messages "$TMP/last.json"
printf '%0400d\n' 0 >"$TMP/long.txt"
expect_error "message longer than the context" "more than the context size" -- \
  bash -c '"$0" chat -m "$1" --chat-template chatml -c 64 <"$2"' "$TINYLLM" "$M" "$TMP/long.txt"
finish

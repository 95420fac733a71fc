# tinyllm chat at a terminal, driven through a pseudo-terminal by pty_chat.py:
# a message gets a streamed reply and the metrics line; /settings, /set (incl.
# bos), /undo, /save (a JSON conversation), multi-line input with a trailing '\',
# a bad command (one line, then carry on), /model (swap, the conversation kept;
# a bad file leaves it as it was), the context filling (oldest turns dropped,
# the user told), Ctrl-C stopping a reply, and Ctrl-C twice at the prompt.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
python3 -c 'import pty' 2>/dev/null || { echo "skipped: python3 with its pty module is needed"; exit 77; }
M=$SHARED/models/stories260K.gguf
METRICS='\[16 tokens, [0-9.]+ tok/s, [0-9.]+ ms/token, TTFT [0-9]+ ms, prompt [0-9]+ new tokens \([0-9]+ reused\), context [0-9]+/2048\]'
CMD=("$TINYLLM" chat -m "$M" --chat-template chatml --temp 0 -n 16)
DRIVE=(python3 "$(dirname "$0")/pty_chat.py")
# session NAME STEPS COMMAND...: runs COMMAND on a terminal; its output (without CRs) in $TMP/NAME.txt.
session() {
  local name=$1 steps=$2; shift 2
  printf '%s\n' "$steps" >"$TMP/$name.steps"
  "${DRIVE[@]}" "$TMP/$name.steps" "$@" >"$TMP/$name.raw"
  code=$?
  tr -d '\r' <"$TMP/$name.raw" >"$TMP/$name.txt"
}
shows() { grep -qE -- "$2" "$TMP/$1.txt"; }

# The reply the script mode gives to the same first message, to find in the terminal's output.
printf 'Hello there\n' | "${CMD[@]}" >"$TMP/expected.out" 2>/dev/null || fail "script mode chat failed"
expected=$(head -1 "$TMP/expected.out")

session basic "Hello there
/settings
/set temp 0.5
/set bos off
/set bos sometimes
/settings
/frobnicate
/undo
Once upon\\
a time
/save $TMP/conv.json
/quit" "${CMD[@]}"
out=$(cat "$TMP/basic.txt")
[ "$code" -eq 0 ] && pass "exits 0 on /quit" || fail "exit code $code: $out"
[ -n "$expected" ] && grep -qF -- "$expected" "$TMP/basic.txt" && pass "streamed reply" ||
  fail "reply '$expected' not in: $out"
[ "$(grep -cE "$METRICS" "$TMP/basic.txt")" -eq 2 ] && pass "a metrics line per reply" || fail "metrics lines: $out"
shows basic '^temp 0, top-k 40, top-p 0.95.*, bos auto$' && pass "/settings" || fail "/settings: $out"
shows basic '^temp = 0.5$' && pass "/set temp" || fail "/set temp: $out"
shows basic '^bos = off$' && shows basic "^bad value for bos: 'sometimes'" && shows basic '^temp 0.5, .*, bos off$' &&
  pass "/set bos" || fail "/set bos: $out"
[ "$(grep -c 'unknown command /frobnicate' "$TMP/basic.txt")" -eq 1 ] && pass "bad command: one line" ||
  fail "bad command: $out"
shows basic '^removed the last exchange$' && pass "/undo" || fail "/undo: $out"
# After /undo only the multi-line exchange is left in the saved conversation.
if [ -s "$TMP/conv.json" ] && [ "$(json_get "$TMP/conv.json" \
     'j.messages.map(m => m.role).join() + "|" + JSON.stringify(j.messages[0].content) + "|" + (j.messages[1].content.length > 0)')" \
     = 'user,assistant|"Once upon\na time"|true' ]
then pass "/save writes the conversation as JSON"
else fail "/save: $(cat "$TMP/conv.json" 2>/dev/null)"
fi

# /set n-predict (as -n; -1 = no limit) limits the next reply; a sampling /set keeps the seed in use
# (a random one here) unless the seed is what changes.
session settings "/settings
/set temp 0.2
/settings
/set n-predict 3
/set n-predict -2
/set n-predict many
Hello there
/set n-predict -1
/settings
/set seed 7
/settings
/quit" "${CMD[@]}"
out=$(cat "$TMP/settings.txt")
seeds=$(grep -oE '^temp .*, seed [0-9]+' "$TMP/settings.txt" | grep -oE '[0-9]+$' | tr '\n' ' ')
read -r seed1 seed2 seed3 seed4 <<<"$seeds"
[ -n "${seed3:-}" ] && [ "$seed1" = "$seed2" ] && [ "$seed2" = "$seed3" ] && [ "${seed4:-}" = 7 ] \
  && pass "/set temp keeps the seed; /set seed changes it" || fail "seeds '$seeds': $out"
shows settings '^temp 0.2, ' && pass "/settings prints 0.2 as 0.2" || fail "/settings temp: $out"
shows settings '^n-predict = 3$' && shows settings "^bad value for n-predict: '-2'" &&
  shows settings "^bad value for n-predict: 'many'" && pass "/set n-predict" || fail "/set n-predict: $out"
grep -qE '^\[3 tokens, ' "$TMP/settings.txt" && pass "/set n-predict 3 limits the reply" || fail "reply length: $out"
shows settings '^n-predict = -1$' && shows settings '^temp 0.2, .*, n-predict -1, ' && pass "/set n-predict -1" ||
  fail "/set n-predict -1: $out"

# /model: a bad file changes nothing; a good one continues the same conversation (evaluated whole).
"$TINYLLM" synth --preset smollm2-135m --tiny --type q8_0 -o "$TMP/other.gguf" >/dev/null 2>&1 ||
  fail "synth the second model"
session swap "Hello there
/model $TMP/missing.gguf
/model $TMP/conv.json
/model $TMP/other.gguf
/settings
Tell me more
/stats
/quit" "${CMD[@]}"
out=$(cat "$TMP/swap.txt")
[ "$code" -eq 0 ] && pass "/model session exits 0" || fail "/model session: exit code $code: $out"
shows swap "missing.gguf.*(No such file|cannot open)" && shows swap "conv.json: .*(GGUF|magic)" && pass "/model with a missing or non-GGUF file: an error" ||
  fail "/model missing: $out"
shows swap "^switched to $TMP/other.gguf in [0-9]+ ms; the conversation \(2 messages\) continues$" &&
  pass "/model switches" || fail "/model switch: $out"
# The second reply is the other model's: its metrics show the whole conversation evaluated again.
second=$(grep -E '^\[[0-9]+ tokens' "$TMP/swap.txt" | sed -n 2p)
[[ "$second" =~ prompt\ [0-9]+\ new\ tokens\ \(0\ reused\) ]] && pass "after /model the conversation is re-evaluated" ||
  fail "second metrics after /model: '$second'"
shows swap '^2 replies, .* 4 messages' && pass "/stats after /model: the conversation kept" || fail "/stats: $out"

# The context fills: the oldest exchanges go, with a notice, and the chat goes on.
session full "Once upon a time there was a little girl
She had a red ball and a big dog
They went to the park every day
One day the dog ran away
/stats
/quit" "$TINYLLM" chat -m "$M" --chat-template chatml --temp 0 -n 16 -c 128
out=$(cat "$TMP/full.txt")
[ "$code" -eq 0 ] && pass "small context session exits 0" || fail "small context: exit code $code: $out"
shows full 'the context is full: dropped the oldest 2 messages' && pass "context full: the user is told" ||
  fail "no drop notice: $out"
[ "$(grep -cE '^\[16 tokens, .*context [0-9]+/128\]' "$TMP/full.txt")" -eq 4 ] && pass "every turn answered" ||
  fail "replies with a small context: $out"

# Ctrl-C stops a long reply (kept, marked), the chat goes on; Ctrl-C twice at the prompt leaves.
"$TINYLLM" synth --preset smollm2-135m --type q8_0 -o "$TMP/long.gguf" >/dev/null 2>&1 || fail "synth smollm2-135m"
session interrupt "Hi
!interrupt
/stats
!ctrl-c
!ctrl-c" "$TINYLLM" chat -m "$TMP/long.gguf" --temp 0 -c 2048
out=$(cat "$TMP/interrupt.txt")
[ "$code" -eq 0 ] && pass "Ctrl-C twice at the prompt exits 0" || fail "Ctrl-C exit code $code: $out"
shows interrupt '^\(stopped\)$' && pass "Ctrl-C stops the reply" || fail "no (stopped): $out"
n=$(grep -oE '^\[[0-9]+ tokens' "$TMP/interrupt.txt" | head -1 | tr -dc 0-9)
[ -n "$n" ] && [ "$n" -lt 1000 ] && pass "the stopped reply is short ($n tokens)" || fail "stopped reply: '$n' tokens"
shows interrupt '^1 replies, .* 2 messages' && pass "the stopped reply is kept" || fail "/stats after Ctrl-C: $out"
shows interrupt '^\(Ctrl-C again to quit\)$' && pass "first Ctrl-C at the prompt warns" || fail "Ctrl-C at prompt: $out"
finish

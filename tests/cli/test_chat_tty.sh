# tinyllm chat at a terminal: driven through a pseudo-terminal (python3's pty module, else util-linux
# `script`), a message gets a streamed reply and the metrics line; /settings, /set, /undo, /save (a JSON
# conversation), multi-line input with a trailing '\', a bad command (one line, then carry on) and /quit.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf
METRICS='\[16 tokens, [0-9.]+ tok/s, [0-9.]+ ms/token, TTFT [0-9]+ ms, prompt [0-9]+ new tokens \([0-9]+ reused\), context [0-9]+/2048\]'
CMD=("$TINYLLM" chat -m "$M" --chat-template chatml --temp 0 -n 16)

# The reply the script mode gives to the same first message, to find in the terminal's output.
printf 'Hello there\n' | "${CMD[@]}" >"$TMP/expected.out" 2>/dev/null || fail "script mode chat failed"
expected=$(head -1 "$TMP/expected.out")

cat >"$TMP/in.txt" <<LINES
Hello there
/settings
/set temp 0.5
/frobnicate
/undo
Once upon\\
a time
/save $TMP/conv.json
/quit
LINES

# drive: runs CMD on a pseudo-terminal, typing each line of in.txt once the prompt is shown.
if python3 -c 'import pty' 2>/dev/null; then
  python3 - "$TMP/in.txt" "${CMD[@]}" >"$TMP/tty.out" <<'PY'
import os, pty, select, sys, time
lines = open(sys.argv[1]).read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
def pump(until=None, timeout=30.0):
    global out
    start, end = len(out), time.time() + timeout
    while time.time() < end:
        if until is not None and any(u in out[start:] for u in until):
            return
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            out += data
for line in lines:
    pump((b"> ", b"... "))  # the prompt, or the continuation prompt
    time.sleep(0.1)
    os.write(fd, line.encode() + b"\r")
pump()
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
  code=$?
elif script --version 2>/dev/null | grep -q util-linux; then
  printf -v cmdline '%q ' "${CMD[@]}"
  script -qfec "$cmdline" /dev/null <"$TMP/in.txt" >"$TMP/tty.out" 2>&1
  code=$?
else
  echo "skipped: neither python3's pty module nor util-linux script"; exit 77
fi
tr -d '\r' <"$TMP/tty.out" >"$TMP/tty.txt"

[ "$code" -eq 0 ] && pass "exits 0 on /quit" || fail "exit code $code: $(cat "$TMP/tty.txt")"
[ -n "$expected" ] && grep -qF -- "$expected" "$TMP/tty.txt" && pass "streamed reply" ||
  fail "reply '$expected' not in: $(cat "$TMP/tty.txt")"
[ "$(grep -cE "$METRICS" "$TMP/tty.txt")" -eq 2 ] && pass "a metrics line per reply" ||
  fail "metrics lines: $(cat "$TMP/tty.txt")"
grep -qE '^temp 0, top-k 40, top-p 0.95' "$TMP/tty.txt" && pass "/settings" || fail "/settings: $(cat "$TMP/tty.txt")"
grep -q '^temp = 0.5$' "$TMP/tty.txt" && pass "/set temp" || fail "/set temp: $(cat "$TMP/tty.txt")"
[ "$(grep -c 'unknown command /frobnicate' "$TMP/tty.txt")" -eq 1 ] && pass "bad command: one line" ||
  fail "bad command: $(cat "$TMP/tty.txt")"
grep -q '^removed the last exchange$' "$TMP/tty.txt" && pass "/undo" || fail "/undo: $(cat "$TMP/tty.txt")"

# After /undo only the multi-line exchange is left in the saved conversation.
if [ -s "$TMP/conv.json" ] && [ "$(json_get "$TMP/conv.json" \
     'j.messages.map(m => m.role).join() + "|" + JSON.stringify(j.messages[0].content) + "|" + (j.messages[1].content.length > 0)')" \
     = 'user,assistant|"Once upon\na time"|true' ]
then pass "/save writes the conversation as JSON"
else fail "/save: $(cat "$TMP/conv.json" 2>/dev/null)"
fi
finish

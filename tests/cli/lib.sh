# lib.sh — helpers for the CLI tests. Each test script is run by CTest as
#   bash tests/cli/test_X.sh TINYLLM_BINARY SHARED_DIR TMP_DIR
# and exits 0 (pass), 77 (skipped) or anything else (fail).
set -uo pipefail
TINYLLM=$1
SHARED=${TINYLLM_SHARED:-$2}
TMP=$3/cli-$$-$(basename "$0" .sh)
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
failures=0

# TL_VALGRIND=1: every "$TINYLLM" of the test runs under valgrind's memcheck with a full leak check (a
# wrapper script in $TMP takes the binary's place, so pids, exit codes and stdout/stderr are the
# program's; valgrind writes to $TMP/valgrind/PID.log). An invalid access, a use of an uninitialized
# value or a definite/indirect leak makes the command exit with 99 and, whatever the test checks, fails
# the test in finish(). Deadlines are stretched (TL_TIME_SCALE, default 20 under valgrind).
# TL_TIME_SCALE: an integer factor for every deadline of the tests (wait_for, the node tests').
if [ "${TL_VALGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "skipped: TL_VALGRIND=1 but valgrind is not installed"; exit 77; }
  [ "${TL_SANITIZE:-0}" = 0 ] || { echo "skipped: TL_VALGRIND=1 in a sanitizer build"; exit 77; }
  mkdir -p "$TMP/valgrind"
  cat >"$TMP/tinyllm" <<EOF
#!/bin/sh
exec valgrind --error-exitcode=99 --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite,indirect \\
  --show-leak-kinds=definite,indirect --num-callers=30 --log-file="$TMP/valgrind/%p.log" "$TINYLLM" "\$@"
EOF
  chmod +x "$TMP/tinyllm"
  TINYLLM=$TMP/tinyllm
  TL_TIME_SCALE=${TL_TIME_SCALE:-20}
fi
export TL_TIME_SCALE=${TL_TIME_SCALE:-1}

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
need_shared() {
  for f in "$@"; do
    [ -e "$SHARED/$f" ] || { echo "skipped: $SHARED/$f is not there (set TINYLLM_SHARED)"; exit 77; }
  done
}
# expect_error NAME PATTERN -- COMMAND...: the command must exit 1, print
# nothing on stdout and one line on stderr matching PATTERN.
expect_error() {
  local name=$1 pattern=$2; shift 3
  local out err code
  out=$("$@" 2>"$TMP/stderr"); code=$?
  err=$(cat "$TMP/stderr")
  if [ "$code" -ne 1 ]; then fail "$name: exit code $code, expected 1 (stderr: $err)"; return; fi
  if [ -n "$out" ]; then fail "$name: printed on stdout: $out"; return; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then fail "$name: expected one line on stderr, got: $err"; return; fi
  if ! grep -qE -- "$pattern" <<<"$err"; then fail "$name: stderr '$err' does not match '$pattern'"; return; fi
  pass "$name"
}
# json_get FILE EXPR: evaluate a JS expression on the parsed JSON `j`.
json_get() { node -e "const j=JSON.parse(require('fs').readFileSync('$1','utf8')); console.log($2)"; }
# now_ms: milliseconds since the epoch.
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
# wait_for [--pid PID] SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (returns 0), or
# SECONDS (times TL_TIME_SCALE) have passed, or process PID has ended (returns 1). For states a test
# waits for: a server's "listening" line, a file, a process gone.
wait_for() {
  local pid=
  if [ "$1" = --pid ]; then pid=$2; shift 2; fi
  local deadline=$(($(now_ms) + $1 * 1000 * TL_TIME_SCALE)); shift
  while :; do
    "$@" && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || { "$@"; return; }
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# valgrind_errors: fails the test for every valgrind log (TL_VALGRIND=1) that reports errors or leaks.
valgrind_errors() {
  [ -d "$TMP/valgrind" ] || return 0
  local log n=0
  for log in "$TMP"/valgrind/*.log; do
    [ -e "$log" ] || continue
    n=$((n + 1))
    if grep -qE "ERROR SUMMARY: [1-9]" "$log"; then
      fail "valgrind: $(grep -m1 -oE "Command: .*" "$log" | cut -c1-200)"
      sed -n '/^==[0-9]*== Command:/,$p' "$log" | head -80 >&2
    fi
  done
  echo "valgrind: $n process(es) checked"
}
finish() {
  valgrind_errors
  if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
  exit 0
}

# --- tinyllm serve in the background (test_serve_http.sh, test_store.sh) ---------------------------------
# SERVER_PID[NAME] holds each server start_server started; stop_servers kills them (call it from the EXIT trap).
declare -A SERVER_PID=()
stop_servers() { for pid in "${SERVER_PID[@]}"; do kill "$pid" 2>/dev/null; done; }
# start_server NAME ARGS...: runs `tinyllm serve --port 0 ARGS` in the background and sets PORT and PID
# from its "listening on" line (fails the test and returns 1 if it does not come within 20 s, times
# TL_TIME_SCALE).
start_server() {
  local name=$1; shift
  "$TINYLLM" serve --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  PID=$!
  SERVER_PID[$name]=$PID
  PORT=
  listening() {
    PORT=$(sed -nE 's#^tinyllm serve: listening on http://.*:([0-9]+) \([0-9]+ models?\)$#\1#p' "$TMP/$name.out")
    [ -n "$PORT" ]
  }
  wait_for --pid "$PID" 20 listening && return 0
  fail "$name: no 'listening on' line (stdout: $(cat "$TMP/$name.out"), stderr: $(cat "$TMP/$name.err"))"
  return 1
}

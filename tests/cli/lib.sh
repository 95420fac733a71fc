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
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures failure(s)" >&2; exit 1; fi
  exit 0
}

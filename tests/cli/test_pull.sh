# `tinyllm pull` against a local mock of the Hugging Face Hub
# (tests/hub/mock_hub.mjs, started here on a free port): every reference
# form, :TAG selection and the no-match error, resume after a dropped
# connection, a checksum mismatch refused with the partial file removed, a
# split GGUF joined into a model that runs, 404/401/403, no network, and the
# token kept from the CDN's host.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf models/stories260K-v2-q8_0.gguf
command -v node >/dev/null || { echo "skipped: node is not installed (the mock Hub is a Node.js script)"; exit 77; }
M=$SHARED/models
HUBDIR=$(cd "$(dirname "$0")/../hub" && pwd)
sha() { sha256sum "$1" | cut -d' ' -f1; }

node "$HUBDIR/gguf_split.mjs" "$M/stories260K.gguf" 3 "$TMP/stories-F32" || { echo "FAIL: gguf_split.mjs" >&2; exit 1; }
cat >"$TMP/hub.json" <<JSON
{ "log": "$TMP/requests.jsonl", "token": "hf_good", "page_size": 2,
  "repos": {
    "test/stories-GGUF": { "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf",
                                      "stories-Q8_0.gguf": "$M/stories260K-v2-q8_0.gguf",
                                      "mmproj-stories-Q4_K_M.gguf": "$M/stories260K-v2-q8_0.gguf",
                                      "README.md": "$HUBDIR/mock_hub.mjs" } },
    "bartowski/Qwen2.5-0.5B-Instruct-GGUF": { "files": { "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf": "$M/stories260K.gguf" } },
    "test/split-GGUF": { "files": { "F32/stories-F32-00001-of-00003.gguf": "$TMP/stories-F32-00001-of-00003.gguf",
                                    "F32/stories-F32-00002-of-00003.gguf": "$TMP/stories-F32-00002-of-00003.gguf",
                                    "F32/stories-F32-00003-of-00003.gguf": "$TMP/stories-F32-00003-of-00003.gguf",
                                    "stories-Q8_0.gguf": "$M/stories260K-v2-q8_0.gguf" } },
    "test/drop-GGUF": { "drop_after": 300000, "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf" } },
    "test/corrupt-GGUF": { "corrupt": true, "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf" } },
    "test/etag-GGUF": { "corrupt": true, "no_lfs_in_tree": true, "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf" } },
    "test/slow-GGUF": { "slow_ms": 15, "files": { "stories-Q8_0.gguf": "$M/stories260K-v2-q8_0.gguf" } },
    "test/crawl-GGUF": { "slow_ms": 150, "files": { "stories-Q8_0.gguf": "$M/stories260K-v2-q8_0.gguf" } },
    "test/gated-GGUF": { "gated": true, "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf" } },
    "test/run-GGUF": { "files": { "stories-Q4_K_M.gguf": "$M/stories260K.gguf" } }
  } }
JSON
node "$HUBDIR/mock_hub.mjs" "$TMP/hub.json" >"$TMP/hub.out" 2>&1 &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null; rm -rf "$TMP"' EXIT
wait_for --pid $HUB_PID 30 grep -q '^listening ' "$TMP/hub.out" || { echo "FAIL: the mock Hub did not start: $(cat "$TMP/hub.out")" >&2; exit 1; }
PORT=$(sed -n 's/^listening //p' "$TMP/hub.out")
export HF_ENDPOINT=http://127.0.0.1:$PORT TINYLLM_MODELS=$TMP/store TINYLLM_HUB_RETRY_MS=50
unset HF_TOKEN
STORE=$TMP/store
requests() { grep -c -- "$1" "$TMP/requests.jsonl"; }

# pull_ok NAME EXPECTED_STORE_NAME EXPECTED_SHA256 REF...: exit 0, the store name on stdout, the blob there.
pull_ok() {
  local name=$1 want=$2 want_sha=$3; shift 3
  local out
  out=$("$TINYLLM" pull "$@" 2>"$TMP/pull.err"); local code=$?
  if [ "$code" -ne 0 ]; then fail "$name: exit $code: $(cat "$TMP/pull.err")"; return; fi
  if [ "$out" != "$want" ]; then fail "$name: printed '$out', expected '$want'"; return; fi
  if [ ! -f "$STORE/blobs/sha256-$want_sha" ]; then fail "$name: no blob sha256-$want_sha in the store"; return; fi
  pass "$name"
}
Q4=$(sha "$M/stories260K.gguf")
Q8=$(sha "$M/stories260K-v2-q8_0.gguf")

# --- every form of reference --------------------------------------------------
pull_ok "ORG/REPO (default tag Q4_K_M, not the mmproj)" "test/stories-GGUF:latest" "$Q4" test/stories-GGUF
grep -q "verifying sha256 digest" "$TMP/pull.err" && grep -q "^success" "$TMP/pull.err" &&
  pass "progress lines: verifying, success" || fail "progress lines: $(cat "$TMP/pull.err")"
pull_ok "hf.co/ORG/REPO:TAG" "hf.co/test/stories-GGUF:Q8_0" "$Q8" hf.co/test/stories-GGUF:Q8_0
pull_ok "huggingface.co URL, tag in lower case" "huggingface.co/test/stories-GGUF:q4_k_m" "$Q4" https://huggingface.co/test/stories-GGUF:q4_k_m
pull_ok "ORG/REPO/FILE.gguf" "test/stories-GGUF/stories-Q8_0.gguf:latest" "$Q8" test/stories-GGUF/stories-Q8_0.gguf
pull_ok "catalogue name" "qwen2.5:0.5b" "$Q4" qwen2.5:0.5b
grep -q '"path":"/api/models/bartowski/Qwen2.5-0.5B-Instruct-GGUF/revision/main"' "$TMP/requests.jsonl" &&
  pass "catalogue name → its repository" || fail "qwen2.5:0.5b did not ask for bartowski/Qwen2.5-0.5B-Instruct-GGUF"
n_cdn=$(requests '/cdn/')
pull_ok "pulling again" "hf.co/test/stories-GGUF:Q8_0" "$Q8" --quiet hf.co/test/stories-GGUF:Q8_0
[ "$(requests '/cdn/')" = "$n_cdn" ] && pass "pulling again downloads nothing" || fail "pulling again downloaded again"
out=$("$TINYLLM" pull --quiet --models "$TMP/other" hf.co/test/stories-GGUF:Q8_0 2>&1)
[ "$out" = "hf.co/test/stories-GGUF:Q8_0" ] && [ -f "$TMP/other/manifests/hf.co%2Ftest%2Fstories-GGUF:Q8_0.json" ] &&
  pass "pull --models DIR" || fail "pull --models DIR: $out"
[ "$(requests 'cursor=')" -gt 0 ] && pass "tree listing followed its Link pages" || fail "no second page of the tree was asked for"

# --- :TAG with no file -------------------------------------------------------------
expect_error "no file for the tag" "^tinyllm pull: test/stories-GGUF has no GGUF file for tag 'Q2_K' \(tags there: Q4_K_M, Q8_0\)$" -- \
  "$TINYLLM" pull --quiet test/stories-GGUF:Q2_K
expect_error "no such file" "test/stories-GGUF has no file 'nope.gguf'" -- "$TINYLLM" pull --quiet test/stories-GGUF/nope.gguf
expect_error "malformed reference" "'test/-bad': ORG and REPO must be" -- "$TINYLLM" pull --quiet test/-bad
expect_error "not in the catalogue" "'nosuchmodel' is not in the catalogue" -- "$TINYLLM" pull --quiet nosuchmodel

# --- resume after a dropped connection --------------------------------------------
pull_ok "dropped connection resumed" "test/drop-GGUF:latest" "$Q4" test/drop-GGUF
cdn=$(grep '"/cdn/' "$TMP/requests.jsonl" | grep -c "$Q4")
if grep '"/test/drop-GGUF/resolve/' "$TMP/requests.jsonl" | sed -n 2p | grep -q '"range":"bytes=300000-"'; then
  pass "the second request carries Range: bytes=300000-"
else
  fail "no second request with Range: $(grep drop-GGUF "$TMP/requests.jsonl")"
fi
[ "$(sha "$STORE/blobs/sha256-$Q4")" = "$Q4" ] && pass "the resumed file is right" || fail "the resumed file's sha256 differs"

# --- resume what a killed pull left ------------------------------------------------------
"$TINYLLM" pull --quiet test/crawl-GGUF >/dev/null 2>&1 &
pull_pid=$!
partial_started() { [ -n "$(find "$STORE/partial" -name '*.partial' -size +1c 2>/dev/null)" ]; }
if wait_for --pid $pull_pid 30 partial_started; then
  kill $pull_pid; wait $pull_pid 2>/dev/null
  have=$(stat -c %s "$STORE"/partial/*.partial)
  pull_ok "a killed pull resumed by the next" "test/crawl-GGUF:latest" "$Q8" --quiet test/crawl-GGUF
  grep '"/test/crawl-GGUF/resolve/' "$TMP/requests.jsonl" | tail -n 1 | grep -qE '"range":"bytes=[1-9][0-9]*-"' &&
    pass "the next pull asked for the rest (Range from $have bytes or more)" || fail "no Range after a killed pull: $(grep crawl "$TMP/requests.jsonl")"
else
  wait $pull_pid; fail "the slow pull wrote no partial file"
fi

# --- checksum mismatch ------------------------------------------------------------------
expect_error "checksum mismatch" "^tinyllm pull: checksum mismatch for .*stories-Q4_K_M.gguf: expected sha256 $Q4, got [0-9a-f]{64} \(the download was removed; pull again\)$" -- \
  "$TINYLLM" pull --quiet test/corrupt-GGUF
[ -z "$(ls -A "$STORE/partial")" ] && pass "checksum mismatch: the partial file is removed" || fail "partial files left: $(ls "$STORE/partial")"
ls "$STORE/manifests" | grep -q corrupt && fail "checksum mismatch: a manifest was written" || pass "checksum mismatch: no manifest"

expect_error "checksum mismatch (sha256 from X-Linked-Etag)" "^tinyllm pull: checksum mismatch for .*etag-GGUF.*: expected sha256 $Q4, got" -- \
  "$TINYLLM" pull --quiet test/etag-GGUF

# --- disk full: the download's partial file is /dev/full ------------------------------------
if [ -w /dev/full ]; then
  mkdir -p "$TMP/full/partial"
  ln -s /dev/full "$TMP/full/partial/$(printf %s "$Q4" | sha256sum | cut -d' ' -f1).partial"
  TINYLLM_MODELS=$TMP/full expect_error "disk full" "^tinyllm pull: disk full while writing .*/full/partial/[0-9a-f]{64}.partial$" -- \
    "$TINYLLM" pull --quiet test/stories-GGUF
else
  echo "skip: no /dev/full (disk full)"
fi

# --- a split GGUF is joined and runs ---------------------------------------------------
pull_ok "split GGUF (3 parts)" "test/split-GGUF:F32" "$Q4" test/split-GGUF:F32
[ "$(grep -c '"/test/split-GGUF/resolve/' "$TMP/requests.jsonl")" = 3 ] && pass "split: every part downloaded" ||
  fail "split: $(grep -c '"/test/split-GGUF/resolve/' "$TMP/requests.jsonl") parts downloaded"
want=$("$TINYLLM" run -m "$M/stories260K.gguf" -p "Once upon a time" -n 12 --temp 0 2>/dev/null)
got=$("$TINYLLM" run -m "$STORE/blobs/sha256-$Q4" -p "Once upon a time" -n 12 --temp 0 2>/dev/null)
[ -n "$got" ] && [ "$got" = "$want" ] && pass "split: the joined model generates as the original" || fail "split: '$got' vs '$want'"

# --- slow transfers show their progress ------------------------------------------------
pull_ok "slow transfer" "test/slow-GGUF:latest" "$Q8" test/slow-GGUF
[ "$(grep -c 'MB/s' "$TMP/pull.err")" -ge 2 ] && pass "slow transfer: progress lines with MB/s" || fail "slow transfer progress: $(cat "$TMP/pull.err")"

# --- 404, 401, 403, the token and the CDN --------------------------------------------
expect_error "404 repository" "^tinyllm pull: unknown repository test/nope on http://127.0.0.1:$PORT \(HTTP 404\); if it is private, set HF_TOKEN$" -- \
  "$TINYLLM" pull --quiet test/nope
expect_error "401 gated without token" "test/gated-GGUF is gated or private \(HTTP 401\): set HF_TOKEN" -- \
  "$TINYLLM" pull --quiet test/gated-GGUF
HF_TOKEN=hf_wrong expect_error "403 gated, no access" "the account of HF_TOKEN has no access to test/gated-GGUF \(HTTP 403\)" -- \
  "$TINYLLM" pull --quiet test/gated-GGUF
HF_TOKEN=hf_good pull_ok "gated with the token" "test/gated-GGUF:latest" "$Q4" --quiet test/gated-GGUF
tail -n 1 "$TMP/requests.jsonl" | grep -q '"host":"localhost:'"$PORT"'".*"auth":null' &&
  pass "the token is not sent to the CDN's host" || fail "CDN request: $(tail -n 1 "$TMP/requests.jsonl")"
grep '"/test/gated-GGUF/resolve/' "$TMP/requests.jsonl" | tail -n 1 | grep -q '"auth":"Bearer hf_good"' &&
  pass "the token is sent to the Hub" || fail "the resolve request had no token"

# --- tinyllm run NAME pulls on first use ------------------------------------------------------
want=$("$TINYLLM" run -m "$M/stories260K.gguf" -p "Once upon a time" -n 12 --temp 0 2>/dev/null)
got=$(TINYLLM_MODELS=$TMP/fresh "$TINYLLM" run test/run-GGUF:Q4_K_M -p "Once upon a time" -n 12 --temp 0 </dev/null 2>"$TMP/run.err")
[ -n "$got" ] && [ "$got" = "$want" ] && grep -q "^success" "$TMP/run.err" && [ -f "$TMP/fresh/manifests/test%2Frun-GGUF:Q4_K_M.json" ] &&
  pass "run ORG/REPO:Q4_K_M on a fresh store pulls, then generates" || fail "run on a fresh store: '$got' (stderr: $(cat "$TMP/run.err"))"
n_cdn=$(requests '/cdn/')
got=$(TINYLLM_MODELS=$TMP/fresh "$TINYLLM" run -m test/run-GGUF:Q4_K_M -p "Once upon a time" -n 12 --temp 0 </dev/null 2>/dev/null)
[ "$got" = "$want" ] && [ "$(requests '/cdn/')" = "$n_cdn" ] && pass "run NAME again: from the store, no download" ||
  fail "run NAME again: '$got', $(( $(requests '/cdn/') - n_cdn )) downloads"
TINYLLM_MODELS=$TMP/fresh2 expect_error "run --no-pull" "^tinyllm run: 'test/run-GGUF:Q8_0' is neither a file nor a model in the store" -- \
  "$TINYLLM" run --no-pull test/run-GGUF:Q8_0 -p x -n 1
[ ! -e "$TMP/fresh2/manifests" ] || [ -z "$(ls -A "$TMP/fresh2/manifests")" ] && pass "run --no-pull: nothing pulled" || fail "run --no-pull pulled"
TINYLLM_MODELS=$TMP/fresh2 "$TINYLLM" run test/nope -p x -n 1 </dev/null >"$TMP/run.out" 2>"$TMP/run.err"
code=$?
[ "$code" = 1 ] && [ ! -s "$TMP/run.out" ] && tail -n 1 "$TMP/run.err" | grep -q "^tinyllm run: unknown repository test/nope on" &&
  pass "run: a pull that fails ends with its error" || fail "run test/nope: exit $code, stderr: $(cat "$TMP/run.err")"

if command -v python3 >/dev/null; then
  TINYLLM_MODELS=$TMP/fresh3 python3 "$HUBDIR/pty_answer.py" n "$TINYLLM" run test/run-GGUF -p x -n 1 >"$TMP/pty.out"
  code=$?
  [ "$code" = 1 ] && grep -q "test/run-GGUF:latest is not in the model store: pull it from the Hugging Face Hub? \[Y/n\]" "$TMP/pty.out" &&
    grep -q "'test/run-GGUF:latest' is not in the model store (not pulled)" "$TMP/pty.out" &&
    pass "run on a terminal asks; 'n' pulls nothing" || fail "run on a terminal, answer n: exit $code: $(cat "$TMP/pty.out")"
  TINYLLM_MODELS=$TMP/fresh3 python3 "$HUBDIR/pty_answer.py" "" "$TINYLLM" run test/run-GGUF -p "Once upon a time" -n 12 --temp 0 >"$TMP/pty.out"
  code=$?
  [ "$code" = 0 ] && grep -q "success" "$TMP/pty.out" && grep -qF -- "$(head -c 20 <<<"$want")" "$TMP/pty.out" &&
    pass "run on a terminal: Enter pulls, then generates" || fail "run on a terminal, answer Enter: exit $code: $(cat "$TMP/pty.out")"
else
  echo "skip: python3 absent (run's question on a terminal)"
fi

# --- no network ------------------------------------------------------------------------------
expect_error "closed port" "^tinyllm pull: cannot connect to http://127.0.0.1:1/api/models/test/stories-GGUF/revision/main: .*\(no network, or a wrong --endpoint\?\)$" -- \
  "$TINYLLM" pull --quiet --endpoint http://127.0.0.1:1 test/stories-GGUF

finish

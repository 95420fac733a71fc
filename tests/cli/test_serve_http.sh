# tinyllm serve, its HTTP layer end to end: the web page and its icon, the API key (401), the body limit
# (413), CORS headers and preflights, JSON 404s for unknown paths, the request log (text, json, --quiet),
# SIGTERM, and every bad option as one line with exit code 1. HTTP requests go through node's http module
# (no npm packages).
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }

trap 'stop_servers; rm -rf "$TMP"' EXIT


# One request: request METHOD PATH [HEADERS_JSON [BODY_BYTES [chunked]]] sets STATUS, ERROR (the JSON
# body's "error"), BODY and H_<header> for the headers below; the whole answer is in $TMP/r.json. A body
# of BODY_BYTES 'a's goes with a Content-Length, or chunked without one.
cat >"$TMP/request.js" <<'EOF'
const http = require('http');
const fs = require('fs');
const [out, port, method, path, headersJson, bodyBytes, mode] = process.argv.slice(2);
const headers = JSON.parse(headersJson || '{}');
// BODY_BYTES that start with '{' are the body itself (JSON).
const body = bodyBytes ? (bodyBytes.startsWith('{') ? bodyBytes : 'a'.repeat(+bodyBytes)) : null;
if (body !== null && mode !== 'chunked') headers['Content-Length'] = body.length;
const wanted = ['content-type', 'access-control-allow-origin', 'vary', 'access-control-allow-methods',
                'access-control-allow-headers'];
function done(status, h, data) {
  let error = '';
  try { error = JSON.parse(data).error ?? ''; } catch { error = 'not JSON'; }
  fs.writeFileSync(out + '.json', JSON.stringify({status, headers: h, body: data}));
  // One line each (newlines flattened), the body last.
  const lines = [status, error, ...wanted.map(k => h[k] ?? ''), data].map(v => String(v).replace(/\n/g, ' '));
  fs.writeFileSync(out, lines.join('\n') + '\n');
}
const req = http.request({host: '127.0.0.1', port, method, path, headers}, res => {
  let data = '';
  res.setEncoding('utf8');
  res.on('data', d => data += d);
  res.on('end', () => done(res.statusCode, res.headers, data));
});
req.on('error', e => done(0, {}, String(e)));
if (body !== null) req.write(body);
req.end();
EOF
request() {
  node "$TMP/request.js" "$TMP/r" "$PORT" "$@"
  { read -r STATUS; read -r ERROR; read -r H_content_type; read -r H_allow_origin; read -r H_vary
    read -r H_allow_methods; read -r H_allow_headers; read -r BODY; } <"$TMP/r"
}
answer() { cat "$TMP/r.json"; }

# --- a plain server: the page, JSON 404s, no CORS headers, SIGTERM ----------------------------------------
if start_server plain -m "$M"; then
  grep -q "(1 model)" "$TMP/plain.out" && pass "listening line counts the models" || fail "listening: $(cat "$TMP/plain.out")"
  request GET /
  [ "$STATUS" = 200 ] && [[ "$H_content_type" == text/html* ]] && grep -qi "<html\|<!doctype" <<<"$BODY" &&
    pass "GET / is the web page" || fail "GET /: $(answer)"
  request GET /index.html
  [ "$STATUS" = 200 ] && [[ "$H_content_type" == text/html* ]] && pass "GET /index.html" || fail "GET /index.html: $(answer)"
  request HEAD /
  [ "$STATUS" = 200 ] && pass "HEAD /" || fail "HEAD /: $(answer)"
  request GET /favicon.ico
  [ "$STATUS" = 200 ] && [ "$H_content_type" = image/svg+xml ] && [[ "$BODY" == "<svg "* ]] &&
    pass "GET /favicon.ico is an SVG icon" || fail "favicon: $(answer)"
  request GET /no/such/page
  [ "$STATUS" = 404 ] && [ "$ERROR" = "no such endpoint: GET /no/such/page" ] && [[ "$H_content_type" == application/json* ]] &&
    pass "unknown page: 404 JSON" || fail "unknown page: $(answer)"
  request POST "/api/no-such-endpoint?x=1" '{}' 2
  [ "$STATUS" = 404 ] && [ "$ERROR" = "no such endpoint: POST /api/no-such-endpoint" ] &&
    pass "unknown API path: 404 JSON without the query" || fail "unknown API path: $(answer)"
  [ -z "$H_allow_origin" ] && pass "no CORS headers without --cors" || fail "CORS header without --cors: $(answer)"
  # The same port again: one line and exit 1.
  expect_error "port already in use" "cannot listen on .*$PORT" -- "$TINYLLM" serve -m "$M" --port "$PORT"
  kill -TERM "$PID"; wait "$PID"; code=$?
  [ "$code" = 0 ] && pass "SIGTERM stops the server with exit code 0" || fail "exit code $code after SIGTERM"
fi

# --- a locked-down server: API key, CORS, a 1 KiB body limit ----------------------------------------------
KEY='{"Authorization":"Bearer s3cret"}'
if start_server locked -m "$M" --api-key s3cret --cors https://chat.example --body-limit 1K; then
  request GET /
  [ "$STATUS" = 200 ] && pass "the page needs no key" || fail "page with --api-key: $(answer)"
  request GET /api/version
  [ "$STATUS" = 401 ] && [ "$ERROR" = "missing or wrong API key" ] && pass "401 without a key" || fail "no key: $(answer)"
  request GET /api/version '{"Authorization":"Bearer wrong"}'
  [ "$STATUS" = 401 ] && pass "401 with a wrong key" || fail "wrong key: $(answer)"
  request GET /api/version '{"Authorization":"Bearer s3cret-and-more"}'
  [ "$STATUS" = 401 ] && pass "401 with a longer key" || fail "longer key: $(answer)"
  request GET /v1/models
  [ "$STATUS" = 401 ] && pass "401 on /v1 without a key" || fail "/v1/models without key: $(answer)"
  request POST / '{}' 2
  [ "$STATUS" = 401 ] && pass "401 for a POST to the page" || fail "POST / without key: $(answer)"
  request GET /api/version "$KEY"
  [ "$STATUS" = 200 ] && [[ "$BODY" == *'"version":'* ]] &&
    pass "the right key passes" || fail "right key: $(answer)"

  request POST /api/chat "$KEY" 2000
  [ "$STATUS" = 413 ] && [ "$ERROR" = "request body is larger than 1024 bytes" ] &&
    pass "413 for a body over --body-limit" || fail "big body: $(answer)"
  request POST /api/chat "$KEY" 2000 chunked
  [ "$STATUS" = 413 ] && [ "$ERROR" = "request body is larger than 1024 bytes" ] &&
    pass "413 for a chunked body over --body-limit" || fail "big chunked body: $(answer)"
  request POST /api/no-such-endpoint "$KEY" 1024
  [ "$STATUS" = 404 ] && pass "a body at the limit passes" || fail "body at the limit: $(answer)"

  request GET /api/version "$KEY"
  [ "$H_allow_origin" = https://chat.example ] && [[ "$H_vary" == *Origin* ]] &&
    pass "CORS headers with --cors" || fail "CORS headers: $(answer)"
  request GET /api/version
  [ "$H_allow_origin" = https://chat.example ] && pass "CORS headers on errors too" ||
    fail "CORS on 401: $(answer)"
  request OPTIONS /v1/chat/completions '{"Origin":"https://chat.example","Access-Control-Request-Method":"POST"}'
  [ "$STATUS" = 204 ] && [[ "$H_allow_methods" == *POST* ]] &&
    [[ "$H_allow_headers" == *Authorization* ]] &&
    [ "$H_allow_origin" = https://chat.example ] &&
    pass "preflight: 204 without a key" || fail "preflight: $(answer)"
fi

# --- the key from the environment ----------------------------------------------------------------------
if TINYLLM_API_KEY=from-env start_server env -m "$M"; then
  request GET /api/version
  [ "$STATUS" = 401 ] && pass "TINYLLM_API_KEY is required" || fail "env key, none given: $(answer)"
  request GET /api/version '{"Authorization":"Bearer from-env"}'
  [ "$STATUS" = 200 ] && pass "TINYLLM_API_KEY accepted" || fail "env key: $(answer)"
fi

# --- the log: a line per request and per model load, as text, as JSON, or none with --quiet --------------
GENERATE='{"model":"stories260K","prompt":"Once","raw":true,"stream":false,"options":{"num_predict":4}}'
STREAM='{"model":"stories260K","prompt":"Once","raw":true,"options":{"num_predict":3}}'
TEXT_LINE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
# log_has NAME REGEX: the server's stderr has a line matching REGEX (a stream's line comes as it ends).
log_has() { grep -qE "$2" "$TMP/$1.err"; }
if start_server plain_log -m "$M"; then
  request POST /api/generate '{}' "$GENERATE"
  [ "$STATUS" = 200 ] || fail "generate for the log: $(answer)"
  request POST /api/generate '{}' "$STREAM"
  request GET /nowhere
  wait_for 10 log_has plain_log "${TEXT_LINE}POST /api/generate model=stories260K status=200 prompt_tokens=[1-9][0-9]* generated_tokens=4 ms=[0-9.]+$" &&
    pass "text log: a whole answer's line" || fail "text log: $(cat "$TMP/plain_log.err")"
  wait_for 10 log_has plain_log "${TEXT_LINE}POST /api/generate model=stories260K status=200 prompt_tokens=[1-9][0-9]* generated_tokens=3 ms=" &&
    pass "text log: a stream's line when it ends" || fail "text log, stream: $(cat "$TMP/plain_log.err")"
  log_has plain_log "${TEXT_LINE}GET /nowhere model=- status=404 " && pass "text log: a 404" || fail "text log, 404: $(cat "$TMP/plain_log.err")"
  log_has plain_log "${TEXT_LINE}load model=stories260K ms=[0-9.]+ memory=[0-9.]+MiB$" &&
    pass "text log: the model load" || fail "text log, load: $(cat "$TMP/plain_log.err")"
  kill -TERM "$PID"; wait "$PID"
fi
if start_server json_log -m "$M" --log-format json --keep-alive 0; then
  request POST /api/generate '{}' "$GENERATE"
  request POST /api/generate '{}' "$STREAM"
  request GET /api/version
  # Every line but the stop notice is one JSON object with the fields of its event.
  check_json_log() {
    node -e '
      const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l && !l.startsWith("tinyllm serve: "));
      const events = lines.map((l) => JSON.parse(l));
      const time = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
      if (!events.every((e) => time.test(e.time))) throw new Error("time");
      const requests = events.filter((e) => e.event === "request");
      const whole = requests.find((e) => e.path === "/api/generate" && e.generated_tokens === 4);
      const streamed = requests.find((e) => e.path === "/api/generate" && e.generated_tokens === 3);
      const version = requests.find((e) => e.path === "/api/version");
      const ok = whole && streamed && version && whole.method === "POST" && whole.model === "stories260K" &&
        whole.status === 200 && whole.prompt_tokens > 0 && typeof whole.ms === "number" && streamed.status === 200 &&
        version.model === null && version.status === 200 &&
        events.some((e) => e.event === "load" && e.model === "stories260K" && e.ms >= 0 && e.memory > 0) &&
        events.some((e) => e.event === "unload" && e.model === "stories260K" && e.reason === "keep_alive");
      process.exit(ok ? 0 : 1);' "$TMP/json_log.err" 2>/dev/null
  }
  wait_for 10 check_json_log && pass "json log: request, load and unload objects" ||
    fail "json log: $(cat "$TMP/json_log.err")"
  kill -TERM "$PID"; wait "$PID"
fi
if start_server quiet -m "$M" --quiet; then
  request POST /api/generate '{}' "$GENERATE"
  [ "$STATUS" = 200 ] || fail "generate with --quiet: $(answer)"
  request GET /nowhere
  kill -TERM "$PID"; wait "$PID"
  unexpected=$(grep -v "^tinyllm serve: SIGTERM received, stopping$" "$TMP/quiet.err")
  [ -z "$unexpected" ] && pass "--quiet: no request or load lines" || fail "--quiet logged: $unexpected"
fi

# Every server stops cleanly on SIGTERM, with nothing on stderr but the stop notice and the request log
# lines (sanitizer reports would show up there).
for name in locked env; do
  pid=${SERVER_PID[$name]:-}
  [ -n "$pid" ] || continue
  kill -TERM "$pid"; wait "$pid"; code=$?
  [ "$code" = 0 ] && pass "$name server stopped, exit code 0" || fail "$name server: exit code $code"
done
for name in plain locked env; do
  [ -f "$TMP/$name.err" ] || continue
  unexpected=$(grep -v "^tinyllm serve: SIGTERM received, stopping$" "$TMP/$name.err" | grep -vE "$TEXT_LINE")
  [ -z "$unexpected" ] && pass "$name server: stderr clean" || fail "$name server stderr: $unexpected"
done

# --- bad options: one line, exit 1 -------------------------------------------------------------------------
"$TINYLLM" serve --help >"$TMP/help.txt" && grep -q -- "--keep-alive" "$TMP/help.txt" && grep -q -- "--api-key" "$TMP/help.txt" &&
  grep -q -- "--log-format" "$TMP/help.txt" && grep -q -- "--quiet" "$TMP/help.txt" &&
  pass "--help" || fail "--help: $(cat "$TMP/help.txt")"
# Neither --models nor -m: the store (here empty), so that models can be pulled into it (/api/pull).
if TINYLLM_MODELS=$TMP/empty-store start_server empty_store; then
  grep -q "(0 models)" "$TMP/empty_store.out" && pass "no models given: serves the empty store" \
    || fail "empty store: $(cat "$TMP/empty_store.out")"
  kill "$PID"
fi
expect_error "missing --models dir" "--models.*$TMP/nowhere" -- "$TINYLLM" serve --models "$TMP/nowhere"
expect_error "--port too big" "--port" -- "$TINYLLM" serve -m "$M" --port 70000
expect_error "--port not a number" "--port" -- "$TINYLLM" serve -m "$M" --port http
expect_error "bad --keep-alive" "--keep-alive.*5x" -- "$TINYLLM" serve -m "$M" --keep-alive 5x
expect_error "empty --keep-alive" "--keep-alive" -- "$TINYLLM" serve -m "$M" --keep-alive ""
expect_error "bad --max-memory" "--max-memory.*lots" -- "$TINYLLM" serve -m "$M" --max-memory lots
expect_error "bad --body-limit" "--body-limit" -- "$TINYLLM" serve -m "$M" --body-limit 0
expect_error "--parallel 0" "--parallel" -- "$TINYLLM" serve -m "$M" --parallel 0
expect_error "empty --api-key" "--api-key" -- "$TINYLLM" serve -m "$M" --api-key ""
expect_error "unknown option" "--nope" -- "$TINYLLM" serve -m "$M" --nope
expect_error "bad --log-format" "--log-format.*xml" -- "$TINYLLM" serve -m "$M" --log-format xml

finish

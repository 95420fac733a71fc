#!/usr/bin/env bash
# test_speculative.sh — speculative decoding end to end: `run`, `chat` and
# `serve` (4 parallel slots, Ollama and OpenAI APIs) give the same text with
# --lookup and with a draft model as without, greedy and with a seed; the
# counts reach the summary, --json, the metrics line, the answers and
# /metrics; "speculative": false opts out; a draft with another vocabulary
# and bad settings are refused with one line.
. "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf models/stories260K-v2-q8_0.gguf models/llama2-tiny-random.gguf
trap 'stop_servers; rm -rf "$TMP"' EXIT
M=$SHARED/models/stories260K.gguf
D=$SHARED/models/stories260K-v2-q8_0.gguf
OTHER=$SHARED/models/llama2-tiny-random.gguf
P="Once upon a time, there was a little girl named Lily. Lily liked to play. Once upon a time"

# --- run ---------------------------------------------------------------------------------------------
for sampling in "--temp 0" "--temp 0.9 --seed 11"; do
  "$TINYLLM" run -m "$M" -p "$P" -n 120 --ignore-eos $sampling >"$TMP/plain.txt" 2>/dev/null \
    || fail "run $sampling exited $?"
  for spec in "--lookup 3" "--lookup 1 --draft-max 4" "--draft $D" "-md $D --draft-max 3 --draft-p-min 0" \
    "--draft $D --draft-min 2 -td 1 -cd 256"; do
    "$TINYLLM" run -m "$M" -p "$P" -n 120 --ignore-eos $sampling $spec >"$TMP/spec.txt" 2>"$TMP/spec.err" \
      || fail "run $sampling $spec exited $? ($(cat "$TMP/spec.err"))"
    cmp -s "$TMP/plain.txt" "$TMP/spec.txt" && pass "run $sampling $spec: the same text" \
      || fail "run $sampling $spec: the text differs"
    grep -qE '\| drafted [0-9]+, accepted [0-9]+ \([0-9.]+%\), [0-9.]+ tokens per evaluation \|' "$TMP/spec.err" \
      && pass "run $spec: the summary counts drafts" || fail "run $spec: summary $(tail -1 "$TMP/spec.err")"
  done
done
"$TINYLLM" run -m "$M" -p "$P" -n 60 --temp 0 --draft "$D" --json >"$TMP/run.json" 2>/dev/null
[ "$(json_get "$TMP/run.json" 'j.timings.draft_n > 0 && j.timings.draft_n_accepted > 0')" = true ] \
  && pass "run --json: timings.draft_n and draft_n_accepted" || fail "run --json: $(cat "$TMP/run.json")"
"$TINYLLM" run -m "$M" -p "$P" -n 60 --temp 0 --json >"$TMP/run.json" 2>/dev/null
[ "$(json_get "$TMP/run.json" 'j.timings.draft_n === undefined')" = true ] \
  && pass "run --json without drafts: no draft counts" || fail "run --json: $(cat "$TMP/run.json")"

# --- errors --------------------------------------------------------------------------------------------
expect_error "draft with another vocabulary" "cannot draft for this model: .*(vocabulary|token)" -- \
  "$TINYLLM" run -m "$M" -p hi -n 4 --draft "$OTHER"
expect_error "missing draft file" "nothing\.gguf" -- "$TINYLLM" run -m "$M" -p hi -n 4 --draft "$TMP/nothing.gguf"
expect_error "--draft-max 17" "draft-max" -- "$TINYLLM" run -m "$M" -p hi --lookup 2 --draft-max 17
expect_error "--draft-min > --draft-max" "draft-min" -- "$TINYLLM" run -m "$M" -p hi --lookup 2 --draft-max 2 --draft-min 3
expect_error "--draft-p-min 2" "draft-p-min" -- "$TINYLLM" run -m "$M" -p hi --draft "$D" --draft-p-min 2
expect_error "--lookup 0..16" "lookup" -- "$TINYLLM" run -m "$M" -p hi --lookup 17
expect_error "--lookup with --draft" "cannot be used together" -- "$TINYLLM" run -m "$M" -p hi --lookup 2 --draft "$D"
expect_error "chat: another vocabulary" "cannot draft" -- "$TINYLLM" chat -m "$M" --chat-template chatml --draft "$OTHER" </dev/null

# --- a store model's own "draft" ----------------------------------------------------------------------
export TINYLLM_MODELS=$TMP/store
"$TINYLLM" create storied --from "$M" >/dev/null 2>&1 || fail "create storied"
MF=$(ls "$TMP"/store/manifests/storied*.json | head -1)
node -e "const f='$MF', j=JSON.parse(require('fs').readFileSync(f)); j.draft='$D'; require('fs').writeFileSync(f, JSON.stringify(j))" \
  || fail "could not edit $MF"
"$TINYLLM" run storied -p "$P" -n 40 --temp 0 >/dev/null 2>"$TMP/store.err"
grep -q '| drafted [0-9]' "$TMP/store.err" && pass "run NAME: the manifest's draft is used" \
  || fail "run NAME with a draft: $(tail -1 "$TMP/store.err")"
"$TINYLLM" run storied -p "$P" -n 40 --temp 0 --draft-max 0 >/dev/null 2>"$TMP/store.err"
grep -q 'drafted' "$TMP/store.err" && fail "--draft-max 0 still drafted" || pass "run NAME --draft-max 0: no drafts"
unset TINYLLM_MODELS

# --- chat ----------------------------------------------------------------------------------------------
printf 'Tell me a story\nAnother one\n' >"$TMP/lines.txt"
"$TINYLLM" chat -m "$M" --temp 0 -n 50 --chat-template chatml <"$TMP/lines.txt" >"$TMP/chat-plain.txt" 2>/dev/null
for spec in "--lookup 2" "--draft $D"; do
  "$TINYLLM" chat -m "$M" --temp 0 -n 50 --chat-template chatml $spec <"$TMP/lines.txt" >"$TMP/chat-spec.txt" \
    2>"$TMP/chat.err"
  cmp -s "$TMP/chat-plain.txt" "$TMP/chat-spec.txt" && pass "chat $spec: the same replies" \
    || fail "chat $spec: the replies differ"
  [ "$(grep -cE ', drafted [0-9]+, accepted [0-9]+ \(' "$TMP/chat.err")" = 2 ] \
    && pass "chat $spec: both metrics lines count drafts" || fail "chat $spec: $(cat "$TMP/chat.err")"
done

# --- serve: 4 slots at once, both APIs ----------------------------------------------------------------
ask() { # ask PORT N SPECULATIVE: N requests at once to each API, answers in $TMP/a-*.json
  local port=$1 n=$2 speculative=$3 i pids=()
  for i in $(seq "$n"); do
    curl -sf "localhost:$port/v1/completions" -o "$TMP/a-openai-$i.json" -d "{\"model\":\"stories260K\",\
\"prompt\":\"$P $i\",\"max_tokens\":60,\"temperature\":0,\"speculative\":$speculative}" &
    pids+=($!)
    curl -sf "localhost:$port/api/generate" -o "$TMP/a-ollama-$i.json" -d "{\"model\":\"stories260K\",\
\"prompt\":\"$P $i\",\"raw\":true,\"stream\":false,\"options\":{\"num_predict\":60,\"temperature\":0,\"seed\":3},\
\"speculative\":$speculative}" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fail "serve: a request failed"; done
}
texts() { for i in $(seq 4); do json_get "$TMP/a-openai-$i.json" 'j.choices[0].text'; json_get "$TMP/a-ollama-$i.json" 'j.response'; done; }
if start_server plain -m "$M" --parallel 4; then
  ask "$PORT" 4 true
  texts >"$TMP/serve-plain.txt"
  kill "$PID"
fi
for spec in "--lookup 3" "--draft $D"; do
  name=spec-${spec%% *}
  start_server "$name" -m "$M" --parallel 4 $spec || continue
  ask "$PORT" 4 true
  texts >"$TMP/serve-spec.txt"
  cmp -s "$TMP/serve-plain.txt" "$TMP/serve-spec.txt" && pass "serve $spec, 4 slots: the same answers" \
    || fail "serve $spec: the answers differ: $(diff "$TMP/serve-plain.txt" "$TMP/serve-spec.txt" | head -5)"
  [ "$(json_get "$TMP/a-openai-1.json" 'j.timings.draft_n >= j.timings.draft_n_accepted && j.timings.draft_n > 0')" \
    = true ] && pass "serve $spec: OpenAI timings.draft_n" || fail "serve $spec: $(cat "$TMP/a-openai-1.json")"
  [ "$(json_get "$TMP/a-ollama-1.json" 'j.draft_n > 0')" = true ] && pass "serve $spec: Ollama draft_n" \
    || fail "serve $spec: $(cat "$TMP/a-ollama-1.json")"
  drafted=$(curl -sf "localhost:$PORT/metrics" | sed -n 's/^tinyllm_drafted_tokens_total //p')
  [ "${drafted:-0}" -gt 0 ] && pass "serve $spec: /metrics counts drafted tokens" || fail "serve $spec: /metrics $drafted"
  ask "$PORT" 1 false
  [ "$(json_get "$TMP/a-openai-1.json" 'j.timings === undefined')" = true ] \
    && pass "serve $spec: \"speculative\": false opts out" || fail "serve opt-out: $(cat "$TMP/a-openai-1.json")"
  curl -s "localhost:$PORT/v1/completions" -o "$TMP/bad.json" -w '%{http_code}' \
    -d '{"model":"stories260K","prompt":"x","speculative":"yes"}' >"$TMP/code.txt"
  [ "$(cat "$TMP/code.txt")" = 400 ] && pass "serve: \"speculative\" must be a boolean" \
    || fail "serve: speculative \"yes\" got $(cat "$TMP/code.txt")"
  kill "$PID"
done
# A server-wide draft that does not fit a model is skipped for it (logged), not fatal.
if start_server other -m "$OTHER" --draft "$D"; then
  curl -sf "localhost:$PORT/v1/completions" -o "$TMP/o.json" \
    -d '{"model":"llama2-tiny-random","prompt":"hi","max_tokens":4}' && pass "serve: a model the draft does not fit still answers" \
    || fail "serve: a model the draft does not fit failed"
  grep -q 'draft_skipped' "$TMP/other.err" && pass "serve: the skipped draft is logged" \
    || fail "serve: no draft_skipped line: $(cat "$TMP/other.err")"
  kill "$PID"
fi
finish

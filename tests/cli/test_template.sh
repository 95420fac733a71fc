# tinyllm template and run --chat: real templates from ../shared/templates render exactly what Python Jinja2
# renders (expected.json), built-in templates by name, the model's own template, and every error as one line.
source "$(dirname "$0")/lib.sh"
need_shared templates/expected.json models/stories260K.gguf
T=$SHARED/templates

# case NAME TEMPLATE CASE: write its messages, bos/eos and expected text from expected.json.
extract() {
  node -e '
    const [tpl, name, dir] = process.argv.slice(1);
    const r = JSON.parse(require("fs").readFileSync(process.env.T + "/expected.json", "utf8")).results
      .find(x => x.template === tpl && x.case === name);
    const fs = require("fs");
    fs.writeFileSync(dir + "/messages.json", JSON.stringify(r.tools ? {messages: r.messages, tools: r.tools} : r.messages));
    fs.writeFileSync(dir + "/expected.txt", r.expected !== undefined && r.expected !== null ? r.expected : "");
    fs.writeFileSync(dir + "/error.txt", r.error ? String(r.error).replace(/^[A-Za-z]*Error: /, "") : "");
    fs.writeFileSync(dir + "/args.txt", [r.bos_token, r.eos_token, r.add_generation_prompt ? "" : "--no-generation-prompt"].join("\n"));
  ' "$1" "$2" "$TMP"
}
export T SOURCE_DATE_EPOCH=1700000000  # strftime_now, as expected.json was rendered
for spec in "Qwen-Qwen2.5-7B-Instruct.jinja:multi-turn" "meta-llama-Llama-3.2-3B-Instruct.jinja:system-user" \
            "google-gemma-3.jinja:no-generation-prompt" "microsoft-Phi-3.5-mini-instruct.jinja:unicode-newlines" \
            "google-gemma-2-2b-it.jinja:system-user"; do
  tpl=${spec%%:*} name=${spec##*:}
  extract "$tpl" "$name"
  mapfile -t a <"$TMP/args.txt"
  gen=(); [ -n "${a[2]:-}" ] && gen=(--no-generation-prompt)
  "$TINYLLM" template --chat-template "$T/$tpl" --messages "$TMP/messages.json" --bos "${a[0]}" --eos "${a[1]}" \
    "${gen[@]}" >"$TMP/out.txt" 2>"$TMP/err.txt"; code=$?
  if [ -s "$TMP/error.txt" ]; then
    [ "$code" = 1 ] && grep -qF "$(cat "$TMP/error.txt")" "$TMP/err.txt" && [ "$(wc -l <"$TMP/err.txt")" = 1 ] &&
      pass "$tpl $name: raises the template's error" || fail "$tpl $name: expected the error '$(cat "$TMP/error.txt")', got '$(cat "$TMP/err.txt")' (exit $code)"
  elif [ "$code" = 0 ] && cmp -s "$TMP/out.txt" "$TMP/expected.txt"; then pass "$tpl $name: exact"
  else fail "$tpl $name: output differs (exit $code): $(cat "$TMP/err.txt")"; fi
done

# Built-in templates by name.
printf '[{"role":"system","content":"S"},{"role":"user","content":"U"}]' >"$TMP/m.json"
"$TINYLLM" template --chat-template chatml --messages "$TMP/m.json" >"$TMP/out.txt"
printf '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n' | cmp -s - "$TMP/out.txt" &&
  pass "chatml" || fail "chatml: $(cat "$TMP/out.txt")"
"$TINYLLM" template --chat-template llama3 --messages "$TMP/m.json" --bos "<B>" --no-generation-prompt >"$TMP/out.txt"
printf '<B><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>' |
  cmp -s - "$TMP/out.txt" && pass "llama3" || fail "llama3: $(cat "$TMP/out.txt")"
for name in llama2 phi3 gemma mistral zephyr deepseek; do
  "$TINYLLM" template --chat-template "$name" --messages "$TMP/m.json" --bos "<s>" --eos "</s>" >"$TMP/out.txt" 2>&1 &&
    grep -q "U" "$TMP/out.txt" && pass "$name renders" || fail "$name: $(cat "$TMP/out.txt")"
done
# The model's template, else chatml with a notice; an object with "messages" works too.
printf '{"messages":[{"role":"user","content":"U"}]}' >"$TMP/o.json"
"$TINYLLM" template -m "$SHARED/models/stories260K.gguf" --messages "$TMP/o.json" >"$TMP/out.txt" 2>"$TMP/err.txt" &&
  grep -q "using chatml" "$TMP/err.txt" && grep -q "<|im_start|>user" "$TMP/out.txt" && pass "no model template: chatml" ||
  fail "model without template"

# run --chat: the template applied to -p, deterministic with --temp 0.
for i in 1 2; do
  "$TINYLLM" run -m "$SHARED/models/stories260K.gguf" --chat --chat-template llama3 --system "Be brief." -p "Hello" \
    -n 8 --temp 0 --json >"$TMP/run$i.json" 2>/dev/null || fail "run --chat exited $?"
done
[ "$(json_get "$TMP/run1.json" 'j.tokens.join()')" = "$(json_get "$TMP/run2.json" 'j.tokens.join()')" ] &&
  [ "$(json_get "$TMP/run1.json" 'j.prompt_tokens.length > 20')" = true ] && pass "run --chat" || fail "run --chat"

# Errors: one line each, exit 1.
expect_error "no template" "no template given" -- "$TINYLLM" template --messages "$TMP/m.json"
expect_error "no messages" "no conversation given" -- "$TINYLLM" template --chat-template chatml
expect_error "unknown template" "neither a built-in chat template" -- "$TINYLLM" template --chat-template nope --messages "$TMP/m.json"
expect_error "missing messages file" "cannot open messages file" -- "$TINYLLM" template --chat-template chatml --messages "$TMP/none.json"
printf '[{"role":' >"$TMP/bad.json"
expect_error "bad JSON" "not valid JSON" -- "$TINYLLM" template --chat-template chatml --messages "$TMP/bad.json"
printf '{"role":"user"}' >"$TMP/obj.json"
expect_error "not a list" "expected a list of messages" -- "$TINYLLM" template --chat-template chatml --messages "$TMP/obj.json"
printf '{%% for x in messages %%}{{ x.content | nosuchfilter }}{%% endfor %%}' >"$TMP/bad.jinja"
expect_error "unknown filter" "line 1: .*nosuchfilter" -- "$TINYLLM" template --chat-template "$TMP/bad.jinja" --messages "$TMP/m.json"
printf '{{ raise_exception("no system messages") }}' >"$TMP/raise.jinja"
expect_error "raise_exception" "no system messages" -- "$TINYLLM" template --chat-template "$TMP/raise.jinja" --messages "$TMP/m.json"
expect_error "system without chat" "need --chat" -- "$TINYLLM" run -m "$SHARED/models/stories260K.gguf" --system x -p hi

# Hostile templates: a 30,000-term sum renders (chains are loops); 30,000 nested brackets, a loop bomb and a
# string doubled in a loop each fail with one line naming the limit, not a crash.
{ printf '{{ 0'; for _ in $(seq 30000); do printf ' + 1'; done; printf ' }}'; } >"$TMP/sum.jinja"
"$TINYLLM" template --chat-template "$TMP/sum.jinja" --messages "$TMP/m.json" >"$TMP/out.txt" 2>"$TMP/err.txt" &&
  [ "$(cat "$TMP/out.txt")" = 30000 ] && pass "30,000-term sum" || fail "30,000-term sum: $(head -c 300 "$TMP/err.txt")"
{ printf '{{ '; for _ in $(seq 30000); do printf '('; done; printf '1'; for _ in $(seq 30000); do printf ')'; done
  printf ' }}'; } >"$TMP/deep.jinja"
expect_error "30,000 nested brackets" "line 1: expression nested deeper than 100 levels" -- \
  "$TINYLLM" template --chat-template "$TMP/deep.jinja" --messages "$TMP/m.json"
printf '{%% for i in range(10000) %%}{%% for j in range(10000) %%}{%% for k in range(10000) %%}{%% endfor %%}{%% endfor %%}{%% endfor %%}' >"$TMP/loops.jinja"
expect_error "nested loops" "template exceeded its (memory )?budget of (64 MiB|10000000 steps)" -- \
  "$TINYLLM" template --chat-template "$TMP/loops.jinja" --messages "$TMP/m.json"
printf '{%% set ns = namespace(s="x") %%}\n{%% for i in range(64) %%}{%% set ns.s = ns.s ~ ns.s %%}{%% endfor %%}' >"$TMP/double.jinja"
expect_error "doubling string" "line 2: template exceeded its memory budget of 64 MiB" -- \
  "$TINYLLM" template --chat-template "$TMP/double.jinja" --messages "$TMP/m.json"
finish

# The model store from the command line (docs/models.md): create, list, show, cp, rm; store names
# wherever -m takes a file (run, chat, embed, tokenize, info, serve) with an existing file winning; a
# model's options as run's and chat's defaults under their flags, its system prompt and template in
# chat (and run --chat) and `template -m NAME`, its num_ctx in embed; `serve` with no
# models serving the store; a temporary file left by a crash cleaned; and every bad name or missing
# model as one line on stderr with exit code 1. The store is a temporary TINYLLM_MODELS.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
M=$SHARED/models/stories260K.gguf
mkdir -p "$TMP/models"
export TINYLLM_MODELS=$(realpath "$TMP/models")
TINYLLM=$(realpath "$TINYLLM")
SHA=$(sha256sum "$M" | cut -d' ' -f1)

trap 'stop_servers; rm -rf "$TMP"' EXIT

# --- an empty store, then a local file added -------------------------------------------------------
"$TINYLLM" list >"$TMP/list0.txt" 2>"$TMP/err.txt"
[ "$(cat "$TMP/list0.txt")" = "$(printf '%-40s %-14s %-10s %s' NAME ID SIZE MODIFIED)" ] && [ -d "$TINYLLM_MODELS/manifests" ] &&
  pass "list: an empty store (created)" || fail "list of an empty store: $(cat "$TMP/list0.txt" "$TMP/err.txt")"

out=$("$TINYLLM" create stories --from "$M" 2>&1)
[ "$out" = "created 'stories:latest'" ] && [ -f "$M" ] && [ -f "$TINYLLM_MODELS/blobs/sha256-$SHA" ] &&
  pass "create --from FILE: copied into a blob named by its sha256" || fail "create --from FILE: $out"

"$TINYLLM" list >"$TMP/list1.txt"
grep -qE "^stories:latest +${SHA:0:12} +1\.2 MB +(Less than a second|[0-9]+ seconds) ago$" "$TMP/list1.txt" &&
  [ "$(wc -l <"$TMP/list1.txt")" = 2 ] && pass "list: NAME ID SIZE MODIFIED" || fail "list: $(cat "$TMP/list1.txt")"
"$TINYLLM" list --json >"$TMP/list.json"
grep -q "\"sha256\":	\"$SHA\"" "$TMP/list.json" && pass "list --json" || fail "list --json: $(cat "$TMP/list.json")"

"$TINYLLM" show stories >"$TMP/show.txt"
grep -qE "^    architecture +llama$" "$TMP/show.txt" && grep -qE "^    sha256 +$SHA$" "$TMP/show.txt" &&
  grep -qE "^    file +stories260K.gguf$" "$TMP/show.txt" && grep -qE "^    quantization +F32$" "$TMP/show.txt" &&
  grep -qE "^    parameters +[0-9]+K$" "$TMP/show.txt" &&
  pass "show: architecture, parameters, quantization, sha256, source file" || fail "show: $(cat "$TMP/show.txt")"
"$TINYLLM" show stories:latest --modelfile | grep -q "^FROM $TINYLLM_MODELS/blobs/sha256-$SHA$" &&
  pass "show --modelfile" || fail "show --modelfile: $("$TINYLLM" show stories --modelfile 2>&1 | head -3)"
"$TINYLLM" show stories --json | grep -q "\"model_path\":	\"$TINYLLM_MODELS/blobs/sha256-$SHA\"" &&
  pass "show --json" || fail "show --json: $("$TINYLLM" show stories --json 2>&1 | head -20)"

# --- cp and create from a name: the file is shared -------------------------------------------------
out=$("$TINYLLM" cp stories hf.co/ORG/REPO:Q8_0 2>&1)
[ "$out" = "copied 'stories' to 'hf.co/ORG/REPO:Q8_0'" ] && [ "$(ls "$TINYLLM_MODELS/blobs" | wc -l)" = 1 ] &&
  "$TINYLLM" list | grep -q "^hf.co/ORG/REPO:Q8_0 " && pass "cp: a second name, one blob" || fail "cp: $out"
"$TINYLLM" create terse --from stories --system "Be terse." --template chatml --parameter temperature 0.5 \
  --parameter stop "###" --parameter stop END >/dev/null
[ "$("$TINYLLM" show terse --system)" = "Be terse." ] &&
  [ "$("$TINYLLM" show terse --parameters | tr -s ' ')" = "$(printf 'temperature 0.5\nstop "###"\nstop "END"')" ] &&
  "$TINYLLM" show terse --template | grep -q "im_start" && [ "$(ls "$TINYLLM_MODELS/blobs" | wc -l)" = 1 ] &&
  pass "create --from NAME: system, template, parameters" || fail "create --from NAME: $("$TINYLLM" show terse 2>&1)"

# --- names where files are taken: the same results as the file --------------------------------------
"$TINYLLM" run -m "$M" -p "Once upon a time" -n 12 --temp 0 >"$TMP/run-file.txt" 2>/dev/null
"$TINYLLM" run -m stories -p "Once upon a time" -n 12 --temp 0 >"$TMP/run-name.txt" 2>/dev/null
"$TINYLLM" run -m hf.co/ORG/REPO:Q8_0 -p "Once upon a time" -n 12 --temp 0 >"$TMP/run-hf.txt" 2>/dev/null
[ -s "$TMP/run-file.txt" ] && cmp -s "$TMP/run-file.txt" "$TMP/run-name.txt" && cmp -s "$TMP/run-file.txt" "$TMP/run-hf.txt" &&
  pass "run -m NAME generates what run -m FILE does" || fail "run -m NAME: $(cat "$TMP/run-name.txt")"
"$TINYLLM" embed -m "$M" "Hello world" >"$TMP/embed-file.txt"
"$TINYLLM" embed -m stories:latest "Hello world" >"$TMP/embed-name.txt"
[ -s "$TMP/embed-file.txt" ] && cmp -s "$TMP/embed-file.txt" "$TMP/embed-name.txt" && pass "embed -m NAME" ||
  fail "embed -m NAME: $(cat "$TMP/embed-name.txt")"
[ "$("$TINYLLM" tokenize -m stories "Hello world")" = "$("$TINYLLM" tokenize -m "$M" "Hello world")" ] &&
  pass "tokenize -m NAME" || fail "tokenize -m NAME"
# --- a model's settings as defaults: options under the flags, system and template for chat ----------------
"$TINYLLM" create greedy5 --from stories --parameter temperature 0 --parameter num_predict 5 \
  --parameter num_gpu 1 >/dev/null
"$TINYLLM" run -m "$M" -p "Once upon a time" --temp 0 -n 5 >"$TMP/greedy-file.txt" 2>/dev/null
"$TINYLLM" run greedy5 -p "Once upon a time" >"$TMP/greedy-name.txt" 2>"$TMP/greedy-name.err"
[ -s "$TMP/greedy-file.txt" ] && cmp -s "$TMP/greedy-file.txt" "$TMP/greedy-name.txt" &&
  grep -q "generated 5 tokens.*stop: length" "$TMP/greedy-name.err" &&
  pass "run NAME: temperature 0 and num_predict 5 from the model, as run -m FILE --temp 0 -n 5" ||
  fail "run NAME with options: $(cat "$TMP/greedy-name.txt" "$TMP/greedy-name.err")"
grep -q "^tinyllm run: model 'greedy5:latest': option 'num_gpu' is ignored" "$TMP/greedy-name.err" &&
  pass "run NAME: an option run does not apply is named on stderr" || fail "num_gpu notice: $(cat "$TMP/greedy-name.err")"
"$TINYLLM" run -m "$M" -p "Once upon a time" --temp 0 -n 3 >"$TMP/greedy3-file.txt" 2>/dev/null
"$TINYLLM" run greedy5 -p "Once upon a time" -n 3 >"$TMP/greedy3-name.txt" 2>"$TMP/greedy3-name.err"
cmp -s "$TMP/greedy3-file.txt" "$TMP/greedy3-name.txt" && grep -q "generated 3 tokens" "$TMP/greedy3-name.err" &&
  pass "run NAME -n 3: a flag overrides the model's option" || fail "run NAME -n 3: $(cat "$TMP/greedy3-name.err")"
"$TINYLLM" create stopper --from greedy5 --parameter temperature 0 --parameter num_predict 12 --parameter stop little >/dev/null
"$TINYLLM" run stopper -p "Once upon a time" --json >"$TMP/stopper.json" 2>/dev/null
"$TINYLLM" run stopper -p "Once upon a time" --json --stop zzz >"$TMP/stopper2.json" 2>/dev/null
grep -q '"stop_reason":"stop"' "$TMP/stopper.json" && ! grep -q little "$TMP/stopper.json" &&
  grep -q '"stop_reason":"length"' "$TMP/stopper2.json" && grep -q little "$TMP/stopper2.json" &&
  pass "run NAME: the model's stop strings, replaced by --stop" || fail "stop: $(cat "$TMP/stopper.json" "$TMP/stopper2.json")"
echo "Hello" | "$TINYLLM" chat terse --verbose-prompt -n 1 >/dev/null 2>"$TMP/chat-terse.err"
grep -qx "<|im_start|>system" "$TMP/chat-terse.err" && grep -qx "Be terse.<|im_end|>" "$TMP/chat-terse.err" &&
  grep -qx "Hello<|im_end|>" "$TMP/chat-terse.err" &&
  pass "chat NAME: the model's system prompt in its template (chatml)" || fail "chat NAME: $(cat "$TMP/chat-terse.err")"
echo "Hello" | "$TINYLLM" chat -m terse --system "Be kind." --verbose-prompt -n 1 >/dev/null 2>"$TMP/chat-kind.err"
grep -qx "Be kind.<|im_end|>" "$TMP/chat-kind.err" && ! grep -q "Be terse" "$TMP/chat-kind.err" &&
  pass "chat NAME --system: the flag replaces the model's system prompt" || fail "chat --system: $(cat "$TMP/chat-kind.err")"
"$TINYLLM" run terse -p "Hello" --chat --verbose-prompt -n 1 >/dev/null 2>"$TMP/run-chat.err"
"$TINYLLM" run terse -p "Hello" --verbose-prompt -n 1 >/dev/null 2>"$TMP/run-raw.err"
grep -qx "Be terse.<|im_end|>" "$TMP/run-chat.err" && ! grep -q "Be terse" "$TMP/run-raw.err" &&
  grep -qx "Hello" "$TMP/run-raw.err" &&
  pass "run NAME --chat: the model's system prompt and template; without --chat the prompt is raw" ||
  fail "run --chat: $(cat "$TMP/run-chat.err" "$TMP/run-raw.err")"
echo '[{"role": "user", "content": "Hello"}]' >"$TMP/hello.json"
"$TINYLLM" create llama3tpl --from stories --template llama3 >/dev/null
"$TINYLLM" template -m llama3tpl --messages "$TMP/hello.json" >"$TMP/tpl-name.txt" 2>"$TMP/tpl-name.err"
"$TINYLLM" template -m "$M" --chat-template llama3 --messages "$TMP/hello.json" >"$TMP/tpl-builtin.txt" 2>&1
"$TINYLLM" template -m llama3tpl --chat-template chatml --messages "$TMP/hello.json" >"$TMP/tpl-flag.txt" 2>&1
"$TINYLLM" template -m stories --messages "$TMP/hello.json" >"$TMP/tpl-stories.txt" 2>&1
"$TINYLLM" template -m "$M" --messages "$TMP/hello.json" >"$TMP/tpl-file.txt" 2>&1
grep -q "<|start_header_id|>user" "$TMP/tpl-name.txt" && cmp -s "$TMP/tpl-name.txt" "$TMP/tpl-builtin.txt" &&
  grep -q "<|im_start|>user" "$TMP/tpl-flag.txt" && cmp -s "$TMP/tpl-stories.txt" "$TMP/tpl-file.txt" &&
  pass "template -m NAME: the model's template (llama3), --chat-template over it; without one, the file's" ||
  fail "template -m NAME: $(cat "$TMP/tpl-name.txt" "$TMP/tpl-name.err" "$TMP/tpl-flag.txt" "$TMP/tpl-stories.txt")"
"$TINYLLM" rm llama3tpl >/dev/null
"$TINYLLM" create short --from stories --parameter num_ctx 8 >/dev/null
"$TINYLLM" embed -m short "one two three four five six seven eight nine ten" 2>"$TMP/embed-short.err" >/dev/null
"$TINYLLM" embed -m short -c 64 "one two three four five six seven eight nine ten" 2>"$TMP/embed-c64.err" >/dev/null
grep -q "truncated from [0-9]* to 8 tokens" "$TMP/embed-short.err" && [ ! -s "$TMP/embed-c64.err" ] &&
  pass "embed NAME: the model's num_ctx, under -c" || fail "embed num_ctx: $(cat "$TMP/embed-short.err" "$TMP/embed-c64.err")"
"$TINYLLM" create hot --from stories --parameter temperature hot >/dev/null
expect_error "run NAME: a bad option value" "^tinyllm run: model 'hot:latest': field 'options.temperature' must be a number$" \
  -- "$TINYLLM" run hot -p x
"$TINYLLM" info stories >"$TMP/info-name.txt" && "$TINYLLM" info -m "$M" >"$TMP/info-file.txt" &&
  grep -q "^file: *$TINYLLM_MODELS/blobs/sha256-$SHA " "$TMP/info-name.txt" &&
  [ "$(tail -n +2 "$TMP/info-name.txt")" = "$(tail -n +2 "$TMP/info-file.txt")" ] &&
  pass "info NAME describes the model's file" || fail "info NAME: $(cat "$TMP/info-name.txt")"
expect_error "info an unknown name" "^tinyllm info: 'nope' is neither a file nor a model in the store" -- "$TINYLLM" info nope
"$TINYLLM" rm greedy5 stopper short hot >/dev/null
# An existing file wins over a name: a junk file called "stories" here is loaded (and refused).
mkdir -p "$TMP/cwd" && printf 'junk' >"$TMP/cwd/stories"
expect_error "an existing file wins over a store name" "^tinyllm run: .*stories" \
  -- sh -c "cd '$TMP/cwd' && '$TINYLLM' run -m stories -p x -n 1"

# --- errors: one line, exit 1 ---------------------------------------------------------------------------
expect_error "run -m an unknown name" "^tinyllm run: 'nope' is neither a file nor a model in the store $TINYLLM_MODELS" \
  -- "$TINYLLM" run -m nope -p x
expect_error "embed -m a missing file" "^tinyllm embed: missing.gguf: cannot open: No such file or directory; not a model in the store $TINYLLM_MODELS either$" \
  -- "$TINYLLM" embed -m missing.gguf hello
expect_error "chat -m an unknown name" "^tinyllm chat: 'nope:v1' is neither a file nor a model in the store" \
  -- "$TINYLLM" chat -m nope:v1
expect_error "show an unknown name" "^tinyllm show: model 'nope' not found in the store $TINYLLM_MODELS$" \
  -- "$TINYLLM" show nope
expect_error "show a bad name" "^tinyllm show: invalid model name 'a b'" -- "$TINYLLM" show "a b"
expect_error "show two modes" "^tinyllm show: give at most one of" -- "$TINYLLM" show stories --json --modelfile
expect_error "rm an unknown name" "^tinyllm rm: model 'nope' not found in the store" -- "$TINYLLM" rm nope
expect_error "rm nothing" "^tinyllm rm: no model given" -- "$TINYLLM" rm
expect_error "cp an unknown name" "^tinyllm cp: model 'nope' not found in the store" -- "$TINYLLM" cp nope x
expect_error "cp to a bad name" "^tinyllm cp: invalid model name '../x'" -- "$TINYLLM" cp stories ../x
expect_error "cp with one name" "^tinyllm cp: expected SRC and DST" -- "$TINYLLM" cp stories
expect_error "create from a missing model" "^tinyllm create: model 'missing.gguf' not found in the store" \
  -- "$TINYLLM" create x --from missing.gguf
expect_error "create from a file that is not GGUF" "^tinyllm create: .*cwd/stories" \
  -- "$TINYLLM" create x --from "$TMP/cwd/stories"
expect_error "create without --from" "^tinyllm create: expected NAME and --from" -- "$TINYLLM" create x
expect_error "create --parameter without a value" "^tinyllm create: --parameter expects KEY VALUE" \
  -- "$TINYLLM" create x --from stories --parameter temperature
expect_error "create with bad options" "^tinyllm create: invalid model name" -- "$TINYLLM" create "x y" --from stories
"$TINYLLM" list | grep -q "^x:latest" && fail "a failed create left a model" || pass "failed creates add nothing"

# --- --models DIR: another store ------------------------------------------------------------------------
"$TINYLLM" create other --from "$M" --models "$TMP/other" >/dev/null
"$TINYLLM" list --models "$TMP/other" | grep -q "^other:latest " && ! "$TINYLLM" list | grep -q "^other:latest" &&
  pass "--models DIR: another store folder" || fail "--models DIR: $("$TINYLLM" list --models "$TMP/other")"

# --- a crash's leftovers: ignored, then cleaned ------------------------------------------------------------
printf 'GGUF' >"$TINYLLM_MODELS/tmp/999999999-0.gguf"
printf '{' >"$TINYLLM_MODELS/manifests/half.json.tmp"
"$TINYLLM" list >"$TMP/list2.txt"
[ ! -e "$TINYLLM_MODELS/tmp/999999999-0.gguf" ] && [ "$(wc -l <"$TMP/list2.txt")" = 4 ] &&
  pass "a dead process's temporary file is removed, a stray file ignored" || fail "leftovers: $(cat "$TMP/list2.txt")"

# --- serve: the store by default, -m NAME, a store folder as --models --------------------------------------
# fetch_json PATH [BODY]: GET (or POST BODY) on the last server started, the answer on stdout.
fetch_json() {
  node -e "fetch('http://127.0.0.1:$PORT$1', process.argv[1] ? {method: 'POST', body: process.argv[1]} : {})
             .then(r => r.text()).then(t => console.log(t)).catch(e => console.log('ERROR ' + e))" "${2:-}"
}
if ! command -v node >/dev/null; then
  echo "serve checks skipped: node is not installed"
else
  if start_server store; then
    tags=$(fetch_json /api/tags)
    grep -q "(3 models)" "$TMP/store.out" && grep -q '"name":"stories:latest"' <<<"$tags" &&
      grep -q '"name":"hf.co/ORG/REPO:Q8_0"' <<<"$tags" && grep -q "\"digest\":\"$SHA\"" <<<"$tags" &&
      pass "serve without models: every model of the store" || fail "serve the store: $tags $(cat "$TMP/store.out")"
    show=$(fetch_json /api/show '{"model": "terse"}')
    grep -q '"system":"Be terse."' <<<"$show" && grep -q 'temperature' <<<"$show" &&
      pass "serve: a model's system and parameters from its manifest" || fail "serve /api/show: $show"
    gen=$(fetch_json /api/generate '{"model": "hf.co/ORG/REPO:Q8_0", "prompt": "Once", "stream": false, "options": {"num_predict": 3}}')
    grep -q '"done":true' <<<"$gen" && pass "serve: generates with a store model" || fail "serve /api/generate: $gen"
    kill "$PID"
  fi
  if start_server one -m stories; then
    tags=$(fetch_json /api/tags)
    grep -q "(1 model)" "$TMP/one.out" && grep -q '"name":"stories:latest"' <<<"$tags" &&
      pass "serve -m NAME" || fail "serve -m NAME: $tags"
    kill "$PID"
  fi
  if start_server folder --models "$TMP/other"; then
    grep -q '"name":"other:latest"' <<<"$(fetch_json /api/tags)" && pass "serve --models STORE_FOLDER" ||
      fail "serve --models STORE_FOLDER: $(fetch_json /api/tags)"
    kill "$PID"
  fi
fi
expect_error "serve -m an unknown name" "^tinyllm serve: 'nope' is neither a file nor a model in the store $TINYLLM_MODELS$" \
  -- "$TINYLLM" serve --port 0 -m nope

# --- rm: the blob goes with its last name --------------------------------------------------------------------
out=$("$TINYLLM" rm stories 2>&1)
[ "$out" = "deleted 'stories'" ] && [ -f "$TINYLLM_MODELS/blobs/sha256-$SHA" ] && ! "$TINYLLM" list | grep -q "^stories:" &&
  pass "rm: the blob stays while another name uses it" || fail "rm stories: $out"
"$TINYLLM" rm hf.co/ORG/REPO:Q8_0 terse >/dev/null
[ ! -e "$TINYLLM_MODELS/blobs/sha256-$SHA" ] && [ "$(wc -l < <("$TINYLLM" list))" = 1 ] &&
  pass "rm: the last name removes the blob" || fail "rm: $(ls "$TINYLLM_MODELS/blobs")"
finish

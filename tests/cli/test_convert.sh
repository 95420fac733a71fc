# tinyllm convert: the Hugging Face folder shared/models/TinyStories-656K becomes a GGUF whose greedy text equals
# llama.cpp's on the same file (tests/reference/tinystories656k-f32.json, see scripts/reference/make_reference.sh);
# the same model in two shards (model.safetensors.index.json) converts to the same model; progress goes to stderr,
# one line per tensor; bad folders and files (T5 configs too) give one-line errors, exit 1 and leave no output file.
source "$(dirname "$0")/lib.sh"
need_shared models/TinyStories-656K/config.json models/TinyStories-656K/model.safetensors
HF=$SHARED/models/TinyStories-656K
REF=tests/reference/tinystories656k-f32.json
OUT=$TMP/ts.gguf
F32_CACHE=(--cache-type-k f32 --cache-type-v f32) # as llama.cpp made the reference

"$TINYLLM" convert "$HF" "$OUT" --type f32 >"$TMP/out.txt" 2>"$TMP/err.txt" || fail "convert exited $?: $(cat "$TMP/err.txt")"
[ -s "$OUT" ] && [ ! -e "$OUT.tmp" ] && pass "convert wrote $OUT" || fail "no output file (or the .tmp is left)"
[ ! -s "$TMP/out.txt" ] && pass "nothing on stdout" || fail "stdout: $(cat "$TMP/out.txt")"
n_lines=$(grep -cE '^\[[0-9]+/20\] [a-z_.0-9]+ [0-9 x]+ f32$' "$TMP/err.txt")
[ "$n_lines" = 20 ] && pass "a progress line per tensor" || fail "progress: $n_lines lines of 20: $(head -3 "$TMP/err.txt")"
"$TINYLLM" info -m "$OUT" >"$TMP/info.txt" 2>&1 || fail "info exited $?"
grep -q "llama" "$TMP/info.txt" && pass "info reads it" || fail "info: $(head -5 "$TMP/info.txt")"

# Acceptance: the prompt's tokens and the greedy ids up to the first end of story equal llama.cpp's.
n_cases=$(json_get "$REF" 'j.cases.filter(c => c.prompt !== undefined).length')
[ "$n_cases" -ge 3 ] || fail "reference has $n_cases text cases"
for ((i = 0; i < n_cases; i++)); do
  prompt=$(json_get "$REF" "j.cases[$i].prompt")
  "$TINYLLM" run -m "$OUT" -p "$prompt" -n 32 --temp 0 "${F32_CACHE[@]}" --json >"$TMP/run.json" 2>"$TMP/err.txt" ||
    { fail "case $i: run exited $?: $(cat "$TMP/err.txt")"; continue; }
  got_prompt=$(json_get "$TMP/run.json" 'j.prompt_tokens.join(" ")')
  want_prompt=$(json_get "$REF" "j.cases[$i].tokens.join(' ')")
  [ "$got_prompt" = "$want_prompt" ] || { fail "case $i: prompt tokens '$got_prompt', llama.cpp '$want_prompt'"; continue; }
  got=$(json_get "$TMP/run.json" 'j.tokens.join(" ")')
  want=$(json_get "$REF" "(k => k < 0 ? j.cases[$i].greedy : j.cases[$i].greedy.slice(0, k))(j.cases[$i].greedy.indexOf(2)).join(' ')")
  [ "$got" = "$want" ] && pass "case $i: greedy text equals llama.cpp's" || fail "case $i: greedy '$got', llama.cpp '$want'"
done

# Shards: the same tensors split over two files named by model.safetensors.index.json.
SH=$TMP/sharded
mkdir -p "$SH"
for f in config.json tokenizer.json tokenizer_config.json; do ln -s "$HF/$f" "$SH/$f"; done
# split_safetensors IN OUT_DIR PARTS [DROP]: writes model-0000K-of-0000N.safetensors and the index, without DROP.
split_safetensors() {
  node -e '
    const fs = require("fs"), [src, dir, parts, drop] = process.argv.slice(1);
    const buf = fs.readFileSync(src), n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()), data = buf.subarray(8 + n);
    const names = Object.keys(header).filter(k => k !== "__metadata__" && k !== drop);
    const map = {};
    for (let p = 0; p < parts; p++) {
      const file = `model-0000${p + 1}-of-0000${parts}.safetensors`, h = {}, blobs = [];
      let off = 0;
      names.filter((_, i) => i % parts === p).forEach(k => {
        const [b, e] = header[k].data_offsets;
        h[k] = {...header[k], data_offsets: [off, off + e - b]};
        blobs.push(data.subarray(b, e)); off += e - b; map[k] = file;
      });
      const text = Buffer.from(JSON.stringify(h)), len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(text.length));
      fs.writeFileSync(`${dir}/${file}`, Buffer.concat([len, text, ...blobs]));
    }
    fs.writeFileSync(`${dir}/model.safetensors.index.json`, JSON.stringify({metadata: {}, weight_map: map}));
  ' "$@"
}
split_safetensors "$HF/model.safetensors" "$SH" 2 || fail "could not split the model"
"$TINYLLM" convert -q "$SH" "$TMP/sharded.gguf" --type f32 2>"$TMP/err.txt" || fail "sharded convert: $(cat "$TMP/err.txt")"
[ ! -s "$TMP/err.txt" ] || [ "$(wc -l <"$TMP/err.txt")" = 1 ] || fail "-q still printed progress"
a=$("$TINYLLM" run -m "$OUT" -p "Once upon a time" -n 24 --temp 0 2>/dev/null)
b=$("$TINYLLM" run -m "$TMP/sharded.gguf" -p "Once upon a time" -n 24 --temp 0 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && pass "two shards give the same model" || fail "sharded: '$b', single file: '$a'"

# Types: every --type converts and generates; q8_0 is smaller than f16, which is smaller than f32.
for type in f16 BF16 q8_0; do # (any case, as the other commands take type names)
  "$TINYLLM" convert -q "$HF" "$TMP/ts-$type.gguf" --type "$type" 2>"$TMP/err.txt" || fail "--type $type: $(cat "$TMP/err.txt")"
  "$TINYLLM" run -m "$TMP/ts-$type.gguf" -p "Once upon a time" -n 8 --temp 0 >/dev/null 2>&1 || fail "--type $type: run failed"
done
[ "$(stat -c %s "$TMP/ts-q8_0.gguf")" -lt "$(stat -c %s "$TMP/ts-f16.gguf")" ] &&
  [ "$(stat -c %s "$TMP/ts-f16.gguf")" -lt "$(stat -c %s "$OUT")" ] && pass "--type sizes" || fail "--type sizes"

# Bad inputs: one line, exit 1, no output file.
BAD=$TMP/bad
bad_folder() { rm -rf "$BAD"; mkdir -p "$BAD"; for f in "$@"; do ln -s "$HF/$f" "$BAD/$f"; done; }
no_output() {
  expect_error "$@"
  [ ! -e "$TMP/bad.gguf" ] && [ ! -e "$TMP/bad.gguf.tmp" ] || fail "$1: left an output file"
}
bad_folder
no_output "missing config.json" "no config.json" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
bad_folder tokenizer.json tokenizer_config.json model.safetensors
sed 's/LlamaForCausalLM/GPT2LMHeadModel/' "$HF/config.json" >"$BAD/config.json"
no_output "unknown architecture" "architecture GPT2LMHeadModel is not supported \(supported: LlamaForCausalLM \(llama\)" \
  -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
sed 's/"intermediate_size": 384/"intermediate_size": 385/' "$HF/config.json" >"$BAD/config.json"
no_output "wrong shape" "model.safetensors: tensor 'model.layers.0.mlp.down_proj.weight' has shape \[128, 384\], config.json implies \[128, 385\]" \
  -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
bad_folder config.json tokenizer.json tokenizer_config.json
split_safetensors "$HF/model.safetensors" "$BAD" 1 model.layers.1.mlp.up_proj.weight
no_output "missing tensor" "no tensor for blk.1.ffn_up.weight" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
bad_folder config.json tokenizer.json tokenizer_config.json
head -c 100000 "$HF/model.safetensors" >"$BAD/model.safetensors"
no_output "truncated safetensors" "model.safetensors: tensor '[a-z_.0-9]+': data_offsets \[[0-9]+, [0-9]+\] outside the" \
  -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
printf '\377\377\377\377\377\377\377\377{}' >"$BAD/model.safetensors"
no_output "safetensors header length" "model.safetensors: header of [0-9]+ bytes \(at most" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
rm "$BAD/model.safetensors"
no_output "no weights" "neither model.safetensors nor model.safetensors.index.json" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
bad_folder config.json tokenizer_config.json model.safetensors
no_output "no tokenizer.json" "no tokenizer.json" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
# T5: config.json is read first, so a folder with only it shows each refusal.
bad_folder
t5_config() { # t5_config KEY=JSON... : FLAN-T5-small's config.json, with KEY set (JSON null: left out)
  node -e '
    const c = {architectures: ["T5ForConditionalGeneration"], vocab_size: 32128, d_model: 512, d_ff: 1024,
      d_kv: 64, num_layers: 8, num_decoder_layers: 8, num_heads: 6, relative_attention_num_buckets: 32,
      relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, decoder_start_token_id: 0,
      feed_forward_proj: "gated-gelu", tie_word_embeddings: false};
    for (const a of process.argv.slice(1)) { const i = a.indexOf("="), v = JSON.parse(a.slice(i + 1));
      if (v === null) delete c[a.slice(0, i)]; else c[a.slice(0, i)] = v; }
    console.log(JSON.stringify(c));' "$@" >"$BAD/config.json"
}
t5_config decoder_start_token_id=null
no_output "t5: no decoder_start_token_id" "config.json: \"decoder_start_token_id\" is missing" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
t5_config 'feed_forward_proj="gated-silu"'
no_output "t5: feed_forward_proj" "config.json: feed_forward_proj 'gated-silu' is not supported" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
t5_config d_kv=null
no_output "t5: no d_kv" "config.json: no \"d_kv\"" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
t5_config relative_attention_max_distance=64
no_output "t5: max distance" "relative_attention_max_distance must be 128" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
t5_config 'architectures=["T5EncoderModel"]'
no_output "t5: encoder-only" "architecture T5EncoderModel is not supported" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
t5_config
no_output "t5: no weights" "neither model.safetensors nor model.safetensors.index.json" -- "$TINYLLM" convert "$BAD" "$TMP/bad.gguf"
no_output "unknown type" "unknown --type 'q4_9'" -- "$TINYLLM" convert "$HF" "$TMP/bad.gguf" --type q4_9
no_output "unknown source" "unknown --from 'onnx'" -- "$TINYLLM" convert --from onnx "$HF" "$TMP/bad.gguf"
no_output "one argument" "expected HF_DIR OUT.gguf" -- "$TINYLLM" convert "$HF"
# An existing file is replaced only by a complete conversion.
echo keep >"$TMP/keep.gguf"
"$TINYLLM" convert "$BAD" "$TMP/keep.gguf" 2>/dev/null
[ "$(cat "$TMP/keep.gguf")" = keep ] && [ ! -e "$TMP/keep.gguf.tmp" ] && pass "a failed conversion leaves the old file" ||
  fail "a failed conversion touched the old file"
finish

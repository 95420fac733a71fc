#!/usr/bin/env bash
# scripts/reference/check_quantized.sh — tinyllm against llama.cpp on quantized files, one row per weight type: the
# same random-weight model (a `tinyllm synth` preset) in each type, made by synth or by llama.cpp's own quantizer
# (ggml_quantize.sh --model), evaluated by both engines on the same prompts.
#
#   scripts/reference/check_quantized.sh [--preset NAME] [--types "T U"] [--cpu "avx2 scalar"] [--greedy N]
#                                        [--threads N] [--models-dir DIR] [--tinyllm PATH]
#
# llama.cpp's side is build/llama_ref decode (llama_ref.c: F32 KV cache, top-20 raw logits after each prompt and N
# greedy ids), built when missing. tinyllm's side is `tinyllm logits --json` with the whole vocabulary and `tinyllm run
# --temp 0 --ignore-eos --json`, both with an F32 KV cache, once per kernel level of --cpu (TINYLLM_CPU=scalar, avx2,
# ...; the default is the level tinyllm picks itself, "auto"), so a SIMD kernel can be told from the scalar path.
# Per type and level it prints: the prompts' tokens agree (or not), the largest |difference| of tinyllm's logit from
# llama.cpp's over llama.cpp's top-20 ids of every prompt, that divided by the largest |logit|, how many prompts have
# the same top-1 id, and the greedy ids: how many of the N agree before the first difference, summed over prompts.
# Exit status 1 when a file cannot be made or a side fails; the numbers are for a person to judge (random weights
# make a 30-layer model chaotic: the f32 and q8_0 rows show how far the two engines drift without i-quants).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PRESET=smollm2-135m
TYPES="iq4_nl iq4_xs iq3_xxs iq3_s iq2_xxs iq2_xs iq2_s iq1_s iq1_m tq1_0 tq2_0"
CPUS=auto
GREEDY=16
THREADS=2
MODELS_DIR=$ROOT/bench/models
TINYLLM=$ROOT/build/tinyllm
LLAMA_REF=$ROOT/build/llama_ref
PROMPTS=("Once upon a time" "The quick brown fox jumps over the lazy dog. It was 2024-05-17, 12:30."
  "def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
")

die() { echo "check_quantized.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --preset | --types | --cpu | --greedy | --threads | --models-dir | --tinyllm)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --preset) PRESET=$2 ;; --types) TYPES=$2 ;; --cpu) CPUS=$2 ;; --greedy) GREEDY=$2 ;;
        --threads) THREADS=$2 ;; --models-dir) MODELS_DIR=$2 ;; --tinyllm) TINYLLM=$2 ;;
      esac
      shift 2 ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $GREEDY =~ ^[0-9]+$ ]] && [[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "--greedy and --threads must be numbers"
[ -x "$TINYLLM" ] || die "no tinyllm binary at $TINYLLM (build it, or pass --tinyllm PATH)"
command -v node >/dev/null || die "node is needed to compare the JSON outputs"
export TINYLLM_SHARED=${TINYLLM_SHARED:-$ROOT/../shared}
if [ ! -x "$LLAMA_REF" ] || [ "$ROOT/scripts/reference/llama_ref.c" -nt "$LLAMA_REF" ]; then
  "$ROOT/scripts/reference/build_llama_tool.sh" "$ROOT/scripts/reference/llama_ref.c" "$LLAMA_REF" \
    $(pkg-config --cflags --libs libcjson) -lm >/dev/null || die "could not build $LLAMA_REF"
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
node -e 'console.log(JSON.stringify({cases: process.argv.slice(1).map(p => ({prompt: p}))}))' "${PROMPTS[@]}" \
  >"$WORK/cases.json"

printf '%-8s %-6s %-7s %-9s %-9s %-6s %s\n' type cpu tokens max_diff relative top1 "greedy (agreeing prefix)"
for type in $TYPES; do
  file=$("$ROOT/scripts/reference/ggml_quantize.sh" --model "$PRESET" "$type" "$MODELS_DIR" "$TINYLLM") ||
    die "$PRESET $type: cannot make the file"
  "$LLAMA_REF" decode --model "$file" --cases "$WORK/cases.json" --top 20 --greedy "$GREEDY" --threads "$THREADS" \
    >"$WORK/llama.json" 2>"$WORK/err" || die "$file: llama_ref failed: $(head -1 "$WORK/err")"
  for cpu in $CPUS; do
    env=()
    [ "$cpu" = auto ] || env=(TINYLLM_CPU="$cpu")
    for i in "${!PROMPTS[@]}"; do
      common=(-m "$file" -p "${PROMPTS[$i]}" -t "$THREADS" --cache-type-k f32 --cache-type-v f32)
      env "${env[@]}" "$TINYLLM" logits "${common[@]}" --top 10000000 --json >"$WORK/logits$i.json" 2>"$WORK/err" ||
        die "$file ($cpu): tinyllm logits failed: $(head -1 "$WORK/err")"
      if [ "$GREEDY" -gt 0 ]; then
        env "${env[@]}" "$TINYLLM" run "${common[@]}" -n "$GREEDY" --temp 0 --ignore-eos --json \
          >"$WORK/run$i.json" 2>"$WORK/err" || die "$file ($cpu): tinyllm run failed: $(head -1 "$WORK/err")"
      else
        echo '{"tokens": []}' >"$WORK/run$i.json"
      fi
    done
    node - "$WORK" "${#PROMPTS[@]}" "$type" "$cpu" "$GREEDY" <<'EOF'
const fs = require("fs");
const [dir, n, type, cpu, greedy] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, "utf8"));
const llama = read("llama.json").cases;
let tokens = true, maxDiff = 0, maxLogit = 0, top1 = 0, agree = 0;
const prefixes = [];
for (let i = 0; i < Number(n); i++) {
  const logits = read(`logits${i}.json`), run = read(`run${i}.json`), ref = llama[i];
  tokens &&= JSON.stringify(logits.tokens) === JSON.stringify(ref.tokens);
  const mine = new Map(logits.top);
  for (const [id, value] of ref.top) {
    maxDiff = Math.max(maxDiff, Math.abs(mine.get(id) - value));
    maxLogit = Math.max(maxLogit, Math.abs(value));
  }
  if (logits.top[0][0] === ref.top[0][0]) top1++;
  let p = 0;
  while (p < ref.greedy.length && run.tokens[p] === ref.greedy[p]) p++;
  prefixes.push(p);
  agree += p;
}
const cell = (s, w) => String(s).padEnd(w);
console.log(cell(type, 8), cell(cpu, 6), cell(tokens ? "same" : "DIFFER", 7), cell(maxDiff.toPrecision(3), 9),
  cell((maxDiff / maxLogit).toExponential(1), 9), cell(`${top1}/${n}`, 6),
  `${agree}/${Number(n) * Number(greedy)} (${prefixes.join(", ")})`);
EOF
  done
done

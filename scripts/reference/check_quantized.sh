#!/usr/bin/env bash
# scripts/reference/check_quantized.sh — tinyllm against llama.cpp on quantized files, one row per weight type: the
# same random-weight model (a `tinyllm synth` preset) in each type, made by synth or by llama.cpp's own quantizer
# (ggml_quantize.sh --model), evaluated by both engines on the same prompts.
#
#   scripts/reference/check_quantized.sh [--preset NAME] [--types "T U"] [--cpu "avx2 scalar"] [--greedy N]
#                                        [--threads N] [--models-dir DIR] [--tinyllm PATH]
#
# llama.cpp's side is build/llama_ref decode (llama_ref.c: F32 KV cache, all raw logits after each prompt and N greedy
# ids; built when missing), run twice: with the best ggml CPU build for this machine (haswell, zen4, ...) and with
# the no-SIMD build libggml-cpu-x64.so, whose generic dot products are the scalar formulas. tinyllm's side is
# `tinyllm logits --json` with the whole vocabulary and `tinyllm run --temp 0 --ignore-eos --json`, with an F32 KV
# cache, once per kernel level of --cpu (TINYLLM_CPU=scalar, avx2, ...; auto: the level tinyllm picks; default
# "auto scalar"). Rows per type:
#   llama.cpp BEST vs x64         llama.cpp's own SIMD against its scalar build: the noise floor that quantizing
#                                 activations with other rounding, and other summation orders, make on this model
#   tinyllm scalar vs llama.cpp x64   tinyllm's scalar path against ggml's generic one (expected: equal or nearly)
#   tinyllm LEVEL vs llama.cpp BEST   tinyllm's SIMD kernels against llama.cpp's
# Columns: the prompts' tokens agree (or not); the largest |difference| over the reference's top-20 ids of every
# prompt, and that divided by the largest |logit|; how many prompts have the same top-1 id; greedy ids agreeing
# before the first difference, summed over prompts (per prompt in brackets). Exit status 1 when a file cannot be made
# or a side fails; the numbers are for a person to judge (random weights make a 30-layer model chaotic: tiny
# rounding differences grow, as the llama.cpp row shows).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PRESET=smollm2-135m
TYPES="iq4_nl iq4_xs iq3_xxs iq3_s iq2_xxs iq2_xs iq2_s iq1_s iq1_m tq1_0 tq2_0"
CPUS="auto scalar"
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
    -h | --help) sed -n '2,28s/^# \{0,1\}//p' "$0"; exit 0 ;;
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

# Only the no-SIMD ggml CPU build, for llama.cpp's scalar side.
BINS=$(dirname "$(find -L "$ROOT/scripts/reference/node_modules/@node-llama-cpp" -name libggml-cpu-x64.so | head -1)")
mkdir "$WORK/x64"
ln -s "$BINS/libggml-cpu-x64.so" "$WORK/x64/"

# llama_side NAME FILE [BACKENDS]: llama.cpp's results for every prompt in $WORK/NAME.json (all logits, greedy ids).
llama_side() {
  "$LLAMA_REF" decode --model "$2" --cases "$WORK/cases.json" --top 10000000 --greedy "$GREEDY" \
    --threads "$THREADS" ${3:+--backends "$3"} >"$WORK/$1.json" 2>"$WORK/err" ||
    die "$2: llama_ref failed: $(head -1 "$WORK/err")"
}

# tinyllm_side NAME FILE CPU: the same from tinyllm (TINYLLM_CPU=CPU unless auto), in llama_ref's format.
tinyllm_side() {
  local env=() i common
  [ "$3" = auto ] || env=(TINYLLM_CPU="$3")
  for i in "${!PROMPTS[@]}"; do
    common=(-m "$2" -p "${PROMPTS[$i]}" -t "$THREADS" --cache-type-k f32 --cache-type-v f32)
    env "${env[@]}" "$TINYLLM" logits "${common[@]}" --top 10000000 --json >"$WORK/logits$i.json" 2>"$WORK/err" ||
      die "$2 ($3): tinyllm logits failed: $(head -1 "$WORK/err")"
    if [ "$GREEDY" -gt 0 ]; then
      env "${env[@]}" "$TINYLLM" run "${common[@]}" -n "$GREEDY" --temp 0 --ignore-eos --json \
        >"$WORK/run$i.json" 2>"$WORK/err" || die "$2 ($3): tinyllm run failed: $(head -1 "$WORK/err")"
    else
      echo '{"tokens": []}' >"$WORK/run$i.json"
    fi
  done
  node -e '
    const fs = require("fs"), [dir, n] = process.argv.slice(1);
    const read = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8"));
    const cases = [...Array(Number(n)).keys()].map((i) => ({...read(`logits${i}.json`), greedy: read(`run${i}.json`).tokens}));
    console.log(JSON.stringify({cases}));' "$WORK" "${#PROMPTS[@]}" >"$WORK/$1.json"
}

# compare TYPE LABEL REF OTHER: one row, OTHER against REF's top-20 ids and greedy ids.
compare() {
  node - "$WORK" "$@" "$GREEDY" <<'EOF'
const fs = require("fs");
const [dir, type, label, refName, otherName, greedy] = process.argv.slice(2);
const read = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}.json`, "utf8")).cases;
const ref = read(refName), other = read(otherName);
let tokens = true, maxDiff = 0, maxLogit = 0, top1 = 0, agree = 0;
const prefixes = [];
ref.forEach((r, i) => {
  const o = other[i], values = new Map(o.top);
  tokens &&= JSON.stringify(o.tokens) === JSON.stringify(r.tokens);
  for (const [id, value] of r.top.slice(0, 20)) {
    maxDiff = Math.max(maxDiff, Math.abs(values.get(id) - value));
    maxLogit = Math.max(maxLogit, Math.abs(value));
  }
  if (o.top[0][0] === r.top[0][0]) top1++;
  let p = 0;
  while (p < r.greedy.length && o.greedy[p] === r.greedy[p]) p++;
  prefixes.push(p);
  agree += p;
});
const cell = (s, w) => String(s).padEnd(w);
console.log(cell(type, 8), cell(label, 30), cell(tokens ? "same" : "DIFFER", 7), cell(maxDiff.toPrecision(3), 9),
  cell((maxDiff / maxLogit).toExponential(1), 9), cell(`${top1}/${ref.length}`, 5),
  `${agree}/${ref.length * Number(greedy)} (${prefixes.join(", ")})`);
EOF
}

printf '%-8s %-30s %-7s %-9s %-9s %-5s %s\n' type compared tokens max_diff relative top1 "greedy (agreeing prefix)"
for type in $TYPES; do
  file=$("$ROOT/scripts/reference/ggml_quantize.sh" --model "$PRESET" "$type" "$MODELS_DIR" "$TINYLLM") ||
    die "$PRESET $type: cannot make the file"
  llama_side llama "$file"
  llama_side llama_x64 "$file" "$WORK/x64"
  variant=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).source.cpuVariant)' \
    "$WORK/llama.json")
  compare "$type" "llama.cpp $variant vs x64" llama_x64 llama
  for cpu in $CPUS; do
    tinyllm_side tinyllm "$file" "$cpu"
    if [ "$cpu" = scalar ]; then
      compare "$type" "tinyllm scalar vs llama.cpp x64" llama_x64 tinyllm
    else
      compare "$type" "tinyllm $cpu vs llama.cpp $variant" llama tinyllm
    fi
  done
done

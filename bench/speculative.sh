#!/usr/bin/env bash
# bench/speculative.sh — speculative decoding, tinyllm and llama.cpp side by side on the same GGUF files (issue 16).
#
# Cases (greedy, end-of-generation ignored, -n tokens each):
#   high:           target qwen2.5-0.5b Q8_0 (random weights, tinyllm synth), draft = its first --draft-layers layers
#                   of the same weights in Q4_0 (synth --layers): high acceptance;
#   low:            the same target, a draft of the same shape from another seed (synth --seed 7) with
#                   --low-draft-layers layers: random-weight drafts this deep stop echoing the text and guess their
#                   own tokens, which the target keeps about one time in six; a slow draft that is seldom right,
#                   the case where speculation must turn itself off (goal >= 0.95x plain);
#   lookup-stories: stories260K with prompt lookup (--lookup N) on a text-copying prompt: stories260K does not copy
#                   a passage just because it is repeated (it has no induction heads to speak of), so the prompt is
#                   a passage P followed by its first words where greedy stories260K continues with the rest of P
#                   (P found by iterating P <- its continuation, from the model's own story: a fixed point);
#   lookup-qwen:    the qwen2.5-0.5b Q8_0 target with prompt lookup on a prompt that repeats a passage.
# For each case and round: `tinyllm run` plain, then speculative, then bench/llama_spec.c (llama.cpp's
# speculative-simple / common_speculative on node-llama-cpp's prebuilt libraries; prompt lookup there uses tinyllm's
# rule, see its header) plain, then speculative, with the prompt token ids tinyllm used. Rounds alternate so machine
# load hits all alike; the table shows medians of tokens/s, acceptance (accepted / drafted), the speed-up over plain
# on each side and tinyllm / llama.cpp. Every run's generated ids are checked against tinyllm's plain greedy ones (a
# mismatch is printed as a warning: greedy speculative output must not change).
# Then the verification cost per weight type: one decode of k tokens after a 128-token prompt against k = 1
# (tinyllm bench --batch-cost, llama_spec --batch-cost) for q8_0, q4_0, q4_k_m and iq4_xs qwen2.5-0.5b files.
#
# Models are synth files cached in --models-dir (default bench/models, git-ignored). Not part of the test suite; run
# it by hand on a quiet machine (both engines spin-wait on their threads: other load makes numbers meaningless).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TINYLLM=$ROOT/build/tinyllm
LLAMA_SPEC=$ROOT/build/llama_spec
MODELS_DIR=$ROOT/bench/models
STORIES=${TINYLLM_SHARED:-$ROOT/../shared}/models/stories260K.gguf
CASES="high low lookup-stories lookup-qwen"
COST_TYPES="q8_0 q4_0 q4_k_m iq4_xs"
KS=1,2,4,8,16
THREADS=2
ROUNDS=3
N_GEN=128
DRAFT_LAYERS=4
LOW_DRAFT_LAYERS=16
DRAFT_MAX=16
DRAFT_MIN=0
DRAFT_P_MIN=0.75
LOOKUP=3
COST_REPS=5
OUT=""

usage() {
  cat <<EOF
usage: bench/speculative.sh [options]

  --cases "A B"       cases to run: high, low, lookup-stories, lookup-qwen (default: $CASES; "" = none)
  --cost-types "T U"  weight types for the k-token verification cost (default: $COST_TYPES; "" = skip)
  --ks LIST           k values for the verification cost (default $KS)
  -t N                threads, every run (default $THREADS; the draft uses the same)
  -r N                rounds (default $ROUNDS)
  -n N                tokens generated per run (default $N_GEN)
  --draft-layers N    layers of the high-acceptance draft (default $DRAFT_LAYERS)
  --low-draft-layers N  layers of the low-acceptance draft (default $LOW_DRAFT_LAYERS)
  --draft-max N       most tokens drafted per step, both engines (default $DRAFT_MAX)
  --draft-min N       drafts shorter than N are dropped (default $DRAFT_MIN)
  --draft-p-min P     the draft stops below this probability (default $DRAFT_P_MIN)
  --lookup N          prompt lookup n-gram size for the lookup cases (default $LOOKUP)
  --cost-reps N       timed runs per k (default $COST_REPS)
  --tinyllm PATH      the tinyllm binary (default build/tinyllm)
  --llama-spec PATH   the llama.cpp driver (default build/llama_spec; built when missing or older than its source)
  --models-dir DIR    where synth models are cached (default bench/models)
  --out FILE          also keep the raw JSON lines of every run in FILE
EOF
}

die() { echo "bench/speculative.sh: $*" >&2; exit 1; }
need_value() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --cases) need_value "$@"; CASES=$2; shift 2 ;;
    --cost-types) need_value "$@"; COST_TYPES=$2; shift 2 ;;
    --ks) need_value "$@"; KS=$2; shift 2 ;;
    -t) need_value "$@"; THREADS=$2; shift 2 ;;
    -r) need_value "$@"; ROUNDS=$2; shift 2 ;;
    -n) need_value "$@"; N_GEN=$2; shift 2 ;;
    --draft-layers) need_value "$@"; DRAFT_LAYERS=$2; shift 2 ;;
    --low-draft-layers) need_value "$@"; LOW_DRAFT_LAYERS=$2; shift 2 ;;
    --draft-max) need_value "$@"; DRAFT_MAX=$2; shift 2 ;;
    --draft-min) need_value "$@"; DRAFT_MIN=$2; shift 2 ;;
    --draft-p-min) need_value "$@"; DRAFT_P_MIN=$2; shift 2 ;;
    --lookup) need_value "$@"; LOOKUP=$2; shift 2 ;;
    --cost-reps) need_value "$@"; COST_REPS=$2; shift 2 ;;
    --tinyllm) need_value "$@"; TINYLLM=$2; shift 2 ;;
    --llama-spec) need_value "$@"; LLAMA_SPEC=$2; shift 2 ;;
    --models-dir) need_value "$@"; MODELS_DIR=$2; shift 2 ;;
    --out) need_value "$@"; OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see bench/speculative.sh --help)" ;;
  esac
done
for pair in -t:THREADS -r:ROUNDS -n:N_GEN --draft-layers:DRAFT_LAYERS --low-draft-layers:LOW_DRAFT_LAYERS --draft-max:DRAFT_MAX --draft-min:DRAFT_MIN \
  --lookup:LOOKUP --cost-reps:COST_REPS; do
  v=${pair#*:}
  [[ ${!v} =~ ^[0-9]+$ ]] || die "${pair%%:*} must be a non-negative integer, got '${!v}'"
  [ "$v" = DRAFT_MIN ] || [ "${!v}" -ge 1 ] || die "${pair%%:*} must be at least 1"
done
[[ $DRAFT_P_MIN =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || die "--draft-p-min must be between 0 and 1, got '$DRAFT_P_MIN'"
[[ $KS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--ks must be a comma-separated list of counts, got '$KS'"
for c in $CASES; do
  case $c in high|low|lookup-stories|lookup-qwen) ;; *) die "unknown case '$c' (high, low, lookup-stories, lookup-qwen)" ;; esac
done
[ -x "$TINYLLM" ] || die "no tinyllm binary at $TINYLLM (build it, or pass --tinyllm PATH)"
command -v node >/dev/null || die "node is needed to summarize the runs"
[ -d "$ROOT/scripts/reference/node_modules/node-llama-cpp" ] ||
  die "node-llama-cpp is not installed: (cd scripts/reference && npm install)"
export TINYLLM_SHARED=${TINYLLM_SHARED:-$ROOT/../shared}
if [ ! -x "$LLAMA_SPEC" ] || [ "$ROOT/bench/llama_spec.c" -nt "$LLAMA_SPEC" ] ||
   [ "$ROOT/bench/build_llama_bench.sh" -nt "$LLAMA_SPEC" ]; then
  echo "building $LLAMA_SPEC" >&2
  "$ROOT/bench/build_llama_bench.sh" "$LLAMA_SPEC" "$ROOT/bench/llama_spec.c" >/dev/null ||
    die "could not build the llama.cpp driver"
fi

mkdir -p "$MODELS_DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

# synth_model FILE ARGS...: writes FILE with tinyllm synth once, then reuses it.
synth_model() {
  local file=$1
  shift
  if [ ! -s "$file" ]; then
    echo "writing $(basename "$file")" >&2
    "$TINYLLM" synth "$@" -o "$file.tmp" >/dev/null 2>"$WORK/synth.err" ||
      { rm -f "$file.tmp"; die "synth $*: $(head -1 "$WORK/synth.err")"; }
    mv "$file.tmp" "$file"
  fi
}

TARGET=$MODELS_DIR/qwen2.5-0.5b-q8_0.gguf
DRAFT_HIGH=$MODELS_DIR/qwen2.5-0.5b-q4_0-l$DRAFT_LAYERS.gguf
DRAFT_LOW=$MODELS_DIR/qwen2.5-0.5b-q4_0-l$LOW_DRAFT_LAYERS-s7.gguf
case " $CASES " in *" high "*|*" low "*|*" lookup-qwen "*) synth_model "$TARGET" --preset qwen2.5-0.5b --type q8_0 ;; esac
case " $CASES " in *" high "*) synth_model "$DRAFT_HIGH" --preset qwen2.5-0.5b --type q4_0 --layers "$DRAFT_LAYERS" ;; esac
case " $CASES " in
  *" low "*) synth_model "$DRAFT_LOW" --preset qwen2.5-0.5b --type q4_0 --layers "$LOW_DRAFT_LAYERS" --seed 7 ;;
esac
case " $CASES " in *" lookup-stories "*) [ -s "$STORIES" ] || die "no $STORIES (set TINYLLM_SHARED)" ;; esac

# lookup-qwen: a passage, repeated; the random-weight qwen target continues it by copying much of it.
PASSAGE="Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high."
COPY_PROMPT="$PASSAGE $PASSAGE Once upon a time"
PROMPT_PLAIN="Once upon a time"

# copying_prompt MODEL START: a passage P (starting with START) such that greedy MODEL continues "P START" with the
# rest of P, found by iterating P <- START + continuation("P START") from the model's own continuation of START.
copying_prompt() {
  local start=$2 p next i
  p="$start$("$TINYLLM" run -m "$1" -p "$start" -n "$N_GEN" -t 1 --temp 0 --ignore-eos 2>/dev/null)"
  for i in $(seq 1 20); do
    next="$start$("$TINYLLM" run -m "$1" -p "$p $start" -n "$N_GEN" -t 1 --temp 0 --ignore-eos 2>/dev/null)"
    [ "$next" = "$p" ] && { printf '%s %s' "$p" "$start"; return; }
    p=$next
  done
  echo "warning: no copying passage after 20 rounds; using the last one" >&2
  printf '%s %s' "$p" "$start"
}
STORIES_PROMPT=""

# case_setup CASE: sets MODEL, PROMPT and SPEC_TINY / SPEC_LLAMA (the speculative options of each side).
case_setup() {
  local draft_opts=(--draft-max "$DRAFT_MAX" --draft-min "$DRAFT_MIN")
  case $1 in
    high|low)
      local draft=$DRAFT_HIGH
      [ "$1" = low ] && draft=$DRAFT_LOW
      MODEL=$TARGET PROMPT=$PROMPT_PLAIN
      SPEC_TINY=(--draft "$draft" "${draft_opts[@]}" --draft-p-min "$DRAFT_P_MIN")
      SPEC_LLAMA=(--draft "$draft" "${draft_opts[@]}" --draft-p-min "$DRAFT_P_MIN") ;;
    lookup-stories|lookup-qwen)
      MODEL=$TARGET PROMPT=$COPY_PROMPT
      if [ "$1" = lookup-stories ]; then
        [ -n "$STORIES_PROMPT" ] || STORIES_PROMPT=$(copying_prompt "$STORIES" "Once upon a time")
        MODEL=$STORIES PROMPT=$STORIES_PROMPT
      fi
      SPEC_TINY=(--lookup "$LOOKUP" "${draft_opts[@]}")
      SPEC_LLAMA=(--lookup "$LOOKUP" "${draft_opts[@]}") ;;
  esac
}

# record CASE ENGINE MODE ROUND FILE: one normalized JSON line per run.
record() {
  node -e '
    const [c, engine, mode, round, file] = process.argv.slice(1);
    const j = JSON.parse(require("fs").readFileSync(file, "utf8"));
    const t = j.timings || {};
    const r = engine === "tinyllm"
      ? {tokens_per_s: t.predicted_per_second, n: t.predicted_n, drafted: t.draft_n || 0,
         accepted: t.draft_n_accepted || 0, ids: j.tokens, prompt_ids: j.prompt_tokens}
      : {tokens_per_s: j.tokens_per_s, n: j.n_gen, drafted: j.drafted, accepted: j.accepted, ids: j.tokens};
    console.log(JSON.stringify({case: c, engine, mode, round: +round, ...r}));
  ' "$@" >>"$RESULTS" || die "$2 $3 printed no JSON: $(head -c 300 "$5")"
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
  echo "warning: the machine is busy (load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs): expect noisy numbers" >&2
fi
for c in $CASES; do
  case_setup "$c"
  ids=""
  for round in $(seq 1 "$ROUNDS"); do
    echo "$c: round $round/$ROUNDS" >&2
    for mode in plain spec; do
      extra=()
      [ "$mode" = spec ] && extra=("${SPEC_TINY[@]}")
      "$TINYLLM" run -m "$MODEL" -p "$PROMPT" -n "$N_GEN" -t "$THREADS" --temp 0 --ignore-eos --json "${extra[@]}" \
        >"$WORK/run.json" 2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; die "tinyllm run failed ($c $mode)"; }
      record "$c" tinyllm "$mode" "$round" "$WORK/run.json"
      [ -n "$ids" ] || ids=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).prompt_tokens.join(","))' "$WORK/run.json")
    done
    for mode in plain spec; do
      extra=()
      [ "$mode" = spec ] && extra=("${SPEC_LLAMA[@]}")
      "$LLAMA_SPEC" -m "$MODEL" --prompt-ids "$ids" -n "$N_GEN" -t "$THREADS" "${extra[@]}" >"$WORK/run.json" \
        2>"$WORK/run.err" || { cat "$WORK/run.err" >&2; die "llama_spec failed ($c $mode)"; }
      record "$c" llama.cpp "$mode" "$round" "$WORK/run.json"
    done
  done
done

# The verification cost: k tokens in one decode against one, per weight type.
for type in $COST_TYPES; do
  file=$MODELS_DIR/qwen2.5-0.5b-$type.gguf
  synth_model "$file" --preset qwen2.5-0.5b --type "$type"
  echo "batch cost: $(basename "$file")" >&2
  "$TINYLLM" bench -m "$file" -p 0 -n 0 -r "$COST_REPS" -t "$THREADS" --batch-cost "$KS" --json >"$WORK/cost.json" ||
    die "tinyllm bench --batch-cost failed on $file"
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(JSON.stringify({cost:process.argv[2],engine:"tinyllm",batch_cost:j.batch_cost}))' \
    "$WORK/cost.json" "$type" >>"$RESULTS"
  "$LLAMA_SPEC" -m "$file" --batch-cost "$KS" -r "$COST_REPS" -t "$THREADS" >"$WORK/cost.json" 2>"$WORK/run.err" ||
    { cat "$WORK/run.err" >&2; die "llama_spec --batch-cost failed on $file"; }
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(JSON.stringify({cost:process.argv[2],engine:"llama.cpp",batch_cost:j.batch_cost}))' \
    "$WORK/cost.json" "$type" >>"$RESULTS"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ -z "$OUT" ] || cp "$RESULTS" "$OUT"

echo
node - "$RESULTS" "$THREADS" "$ROUNDS" "$N_GEN" <<'EOF'
const [file, threads, rounds, nGen] = process.argv.slice(2);
const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
const median = (v) => { const s = [...v].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(d));
const runs = rows.filter((r) => r.case);
const cases = [...new Set(runs.map((r) => r.case))];
if (cases.length) {
  console.log(`Speculative decoding, greedy, ${nGen} tokens, ${threads} threads, median of ${rounds} rounds (tokens/s)\n`);
  console.log("| case | tinyllm plain | tinyllm spec | accepted | speed-up | llama.cpp plain | llama.cpp spec | accepted | speed-up | spec tinyllm/llama.cpp |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}
const mismatches = [], differ = [];
for (const c of cases) {
  const of = (engine, mode) => runs.filter((r) => r.case === c && r.engine === engine && r.mode === mode);
  // Speculative runs must give their own engine's plain greedy ids; the two engines' plain ids may differ where
  // near-tied logits round differently (random weights have many).
  for (const engine of ["tinyllm", "llama.cpp"]) {
    const reference = of(engine, "plain")[0].ids.join(",");
    for (const r of runs.filter((x) => x.case === c && x.engine === engine))
      if (r.ids.join(",") !== reference) mismatches.push(`${c} ${engine} ${r.mode} round ${r.round}`);
  }
  const same = of("tinyllm", "plain")[0].ids.join(",") === of("llama.cpp", "plain")[0].ids.join(",");
  if (!same) differ.push(c);
  const side = (engine) => {
    const plain = median(of(engine, "plain").map((r) => r.tokens_per_s));
    const spec = of(engine, "spec");
    const drafted = spec.reduce((a, r) => a + r.drafted, 0), accepted = spec.reduce((a, r) => a + r.accepted, 0);
    const tps = median(spec.map((r) => r.tokens_per_s));
    return { plain, tps, acc: drafted ? `${fmt((100 * accepted) / drafted, 0)}% of ${Math.round(drafted / spec.length)}` : "0 drafted", up: tps / plain };
  };
  const t = side("tinyllm"), l = side("llama.cpp");
  console.log(`| ${c} | ${fmt(t.plain)} | ${fmt(t.tps)} | ${t.acc} | ${fmt(t.up)}x | ${fmt(l.plain)} | ${fmt(l.tps)} | ${l.acc} | ${fmt(l.up)}x | ${fmt(t.tps / l.tps)}x |`);
}
if (cases.length) {
  console.log(mismatches.length ? `\nWARNING: ids differ from the same engine's plain greedy run: ${mismatches.join("; ")}`
                                : "\nEvery speculative run generated its engine's plain greedy ids.");
  console.log(differ.length ? `tinyllm's and llama.cpp's plain greedy ids differ on: ${differ.join(", ")}`
                            : "tinyllm and llama.cpp generated the same ids.");
}
const costs = rows.filter((r) => r.cost);
if (costs.length) {
  const ks = costs[0].batch_cost.map((c) => c.k);
  console.log(`\nVerification cost: one decode of k tokens after a 128-token prompt, relative to k = ${ks[0]} (ms for k = ${ks[0]})\n`);
  console.log(`| type | engine | ${ks.map((k) => `k=${k}`).join(" | ")} |`);
  console.log(`|---|---|${ks.map(() => "---:").join("|")}|`);
  for (const r of costs)
    console.log(`| ${r.cost} | ${r.engine} | ${r.batch_cost.map((c, i) => (i ? fmt(c.relative) + "x" : fmt(c.ms, 1) + " ms")).join(" | ")} |`);
}
EOF

#!/usr/bin/env bash
# bench/before_after.sh — two tinyllm binaries side by side (e.g. before and after a change), alternated model by
# model for R rounds so that a change in machine load hits both alike; prints the medians of pp and tg tokens/s
# and their ratio (after / before). Not part of the test suite: run it by hand on a quiet machine.
#   bench/before_after.sh [-r ROUNDS] [-t THREADS] [-p N] [-n N] AFTER_BIN BEFORE_BIN MODEL.gguf...
# Models: e.g. the synth files bench/compare caches in bench/models/.
set -euo pipefail
rounds=5 threads=2 n_prompt=256 n_gen=64
while getopts "r:t:p:n:h" o; do
  case $o in
    r) rounds=$OPTARG ;; t) threads=$OPTARG ;; p) n_prompt=$OPTARG ;; n) n_gen=$OPTARG ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 3 ] || { echo "bench/before_after.sh: needs AFTER_BIN BEFORE_BIN and at least one model (-h for help)" >&2; exit 2; }
after=$1 before=$2
shift 2
command -v node >/dev/null || { echo "bench/before_after.sh: needs node to summarize" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for m in "$@"; do
    for side in after before; do
      bin=$after
      [ "$side" = before ] && bin=$before
      j=$("$bin" bench -m "$m" -p "$n_prompt" -n "$n_gen" -r 2 -t "$threads" --json 2>/dev/null) ||
        { echo "bench/before_after.sh: $bin bench -m $m failed" >&2; exit 1; }
      printf '{"side":"%s","model":"%s","r":%s}\n' "$side" "$(basename "$m" .gguf)" "$j" >>"$out"
    done
  done
  echo "round $r/$rounds done" >&2
done
node -e '
const L = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = a => { a = [...a].sort((x, y) => x - y); const n = a.length; return n % 2 ? a[(n - 1) / 2] : (a[n / 2 - 1] + a[n / 2]) / 2; };
console.log("| model | pp after | pp before | ratio | tg after | tg before | ratio |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const m of [...new Set(L.map(x => x.model))]) {
  const g = (s, k) => med(L.filter(x => x.model == m && x.side == s).map(x => x.r[k].tokens_per_s.median));
  const pa = g("after", "pp"), pb = g("before", "pp"), ta = g("after", "tg"), tb = g("before", "tg");
  console.log(`| ${m} | ${pa.toFixed(1)} | ${pb.toFixed(1)} | ${(pa / pb).toFixed(3)} | ${ta.toFixed(1)} | ${tb.toFixed(1)} | ${(ta / tb).toFixed(3)} |`);
}' "$out"

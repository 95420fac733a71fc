#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (see fuzz/README.md).
#   scripts/fuzz.sh TARGET SECONDS      one target (gguf, tok_spm, tok_bpe, tok_wpm, tok_ugm,
#                                       jinja, api, safetensors, legacy, hub, store, documents) for SECONDS
#   scripts/fuzz.sh --smoke [SECONDS]   every target for SECONDS each (default 30)
#   scripts/fuzz.sh --list              the targets
# Builds build-fuzz/ (clang, -DTL_FUZZ=ON) when needed. Each run works on a
# copy of fuzz/corpus/TARGET in a scratch directory, so the committed corpus
# does not grow; new crashes, leaks and timeouts are written there and the
# directory is kept (its path is printed). Prints execs/s and coverage at the
# end; exits non-zero when any target found a problem.
#   TINYLLM_SHARED  shared models and vocabularies (default: ../shared)
#   FUZZ_BUILD      build directory (default: build-fuzz)
#   JOBS            build jobs (default: nproc)
#   FUZZ_ARGS       extra libFuzzer flags
#   FUZZ_CORPUS     a directory to keep each target's corpus in (FUZZ_CORPUS/TARGET,
#                   seeded from fuzz/corpus/TARGET) so long runs build on each other
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(gguf tok_spm tok_bpe tok_wpm tok_ugm jinja api safetensors legacy hub store documents)
shared=${TINYLLM_SHARED:-$(cd .. && pwd)/shared}
export TINYLLM_SHARED=$shared
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-$(nproc)}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# Per-target limits: longest input, and seconds before an input is a hang.
max_len() {
  case $1 in
    jinja) echo 262144 ;;
    gguf | safetensors | legacy) echo 65536 ;;
    api | hub | store) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

build_targets() {
  if [[ ! -f $build/CMakeCache.txt ]]; then
    CC=${CC:-clang} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_FUZZ=ON \
      -DTL_BUILD_TESTS=OFF -DTL_SHARED_DIR="$shared" >/dev/null
  fi
  cmake --build "$build" -j "$jobs" --target "${@/#/fuzz_}" >/dev/null
}

# Read-only seeds from the shared data, passed after the working corpus.
extra_seeds() {
  case $1 in
    jinja) [[ -d $shared/templates ]] && echo "$shared/templates" ;;
  esac
  return 0
}

# run_one TARGET SECONDS: 0 when no problem was found, 77 when skipped.
run_one() {
  local target=$1 seconds=$2
  local scratch
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/tinyllm-fuzz-$target-XXXXXX")
  mkdir -p "$scratch/artifacts"
  local corpus=$scratch/corpus
  [[ -n ${FUZZ_CORPUS:-} ]] && corpus=$FUZZ_CORPUS/$target
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$target"/* "$corpus/" 2>/dev/null || true
  # -error_exitcode=1: libFuzzer's default (77) is the exit code of a skipped target (fuzz_skip)
  local args=(-max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=20 -rss_limit_mb=2560
              -malloc_limit_mb=2048 -print_final_stats=1 -error_exitcode=1 -artifact_prefix="$scratch/artifacts/")
  [[ -f fuzz/dict/$target.dict ]] && args+=(-dict="fuzz/dict/$target.dict")
  local rc=0
  # shellcheck disable=SC2086
  "$build/fuzz/fuzz_$target" "${args[@]}" ${FUZZ_ARGS:-} "$corpus" $(extra_seeds "$target") >"$scratch/log" 2>&1 || rc=$?
  local done_line execs
  done_line=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$scratch/log" | tail -1 || true)
  execs=$(grep -ao 'average_exec_per_sec: *[0-9]*' "$scratch/log" | grep -o '[0-9]*$' || echo '?')
  local found
  found=$(find "$scratch/artifacts" -type f | wc -l)
  if [[ $rc -eq 77 && $found -eq 0 ]]; then
    echo "fuzz $target: skipped ($(grep -a -m1 'skipped' "$scratch/log" || true))"
    rm -rf "$scratch"
    return 77
  fi
  printf 'fuzz %-8s %4ss  %6s execs/s  %s\n' "$target" "$seconds" "$execs" \
    "$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)"
  if [[ $rc -ne 0 || $found -ne 0 ]]; then
    echo "fuzz $target: FAILED (exit $rc); log and inputs kept in $scratch:"
    grep -aE 'ERROR|SUMMARY|^artifact_prefix|Test unit written' "$scratch/log" | head -20 || true
    tail -n 5 "$scratch/log"
    return 1
  fi
  rm -rf "$scratch"
  return 0
}

[[ $# -ge 1 ]] || usage
case $1 in
  --list) printf '%s\n' "${targets[@]}" ;;
  --smoke)
    seconds=${2:-30}
    build_targets "${targets[@]}"
    failed=0
    for t in "${targets[@]}"; do
      rc=0
      run_one "$t" "$seconds" || rc=$?
      [[ $rc -eq 0 || $rc -eq 77 ]] || failed=1
    done
    [[ $failed -eq 0 ]] && echo "fuzz smoke: no problem found" || { echo "fuzz smoke: FAILED"; exit 1; }
    ;;
  -h|--help) usage ;;
  *)
    [[ $# -eq 2 ]] || usage
    [[ " ${targets[*]} " == *" $1 "* ]] || { echo "unknown target '$1' (see --list)" >&2; exit 2; }
    build_targets "$1"
    run_one "$1" "$2"
    ;;
esac

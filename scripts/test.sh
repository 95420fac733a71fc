#!/usr/bin/env bash
# Builds tinyllm and runs the test suite in stages; exits non-zero if any stage
# fails (the other stages still run, so one CI run shows every failure).
#   layers    no include crosses a layer upwards (scripts/check-layers.sh, cmake/layers.txt),
#             and the C sources are as clang-format writes them (scripts/format.sh --check);
#             every build's ctest also checks the calls between layers (layers/calls)
#             and that libtinyllm.so exports exactly tinyllm.h's functions
#             (layers/exports, scripts/check-exports.sh)
#   release   release build (build/), every test
#   valgrind  the release binary under valgrind's memcheck (TL_VALGRIND=1) in the
#             CLI tests of run, chat and serve: invalid accesses and leaks fail
#   asan      ASan+UBSan build (build-asan/), every test
#   tsan      ThreadSanitizer build (build-tsan/), the multi-threaded tests
#   aarch64   cross build for aarch64 (build-aarch64/, cmake/aarch64-linux-gnu.cmake),
#             every unit test (the stories260K golden too) under qemu-aarch64 -cpu max,
#             the kernel test also on a plain armv8-a CPU (cortex-a57)
#   fuzz      every libFuzzer target for TL_FUZZ_SECONDS (default 20) each
# Each stage ends with "== stage NAME took N s"; a summary of all comes last.
#   TINYLLM_SHARED   shared models and vectors (default: ../shared)
#   JOBS             parallel build/test jobs (default: nproc)
#   TL_STAGES        the stages to run, in order (default: all of the above)
set -uo pipefail
cd "$(dirname "$0")/.."

stages=${TL_STAGES:-layers release valgrind asan tsan aarch64 fuzz}
deps=()
[[ " $stages " == *" aarch64 "* ]] && deps=(--cross)
scripts/install-deps.sh "${deps[@]}" || exit 1

jobs=${JOBS:-$(nproc)}
shared=${TINYLLM_SHARED:-$(cd .. && pwd)/shared}
export TINYLLM_SHARED=$shared

# configure DIR ARGS...: a build directory with the shared data dir and ARGS.
configure() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DTL_SHARED_DIR="$shared" "$@" >/dev/null
}

stage_layers() {
  scripts/check-layers.sh . && scripts/format.sh --check
}

build_release() {
  configure build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j "$jobs"
}
stage_release() {
  build_release && ctest --test-dir build --output-on-failure -j "$jobs"
}

# The release binary under valgrind (tests/cli/lib.sh wraps it in a script);
# built here if the release stage did not run. The tests' deadlines are
# stretched 20 times (TL_TIME_SCALE).
stage_valgrind() {
  command -v valgrind >/dev/null || { echo "valgrind stage skipped: valgrind is not installed"; return 0; }
  [ -x build/tinyllm ] || build_release || return 1
  TL_VALGRIND=1 ctest --test-dir build --output-on-failure -j "$jobs" --timeout 3000 \
    -R '^cli/test_(run|chat|server|serve_http)$'
}

stage_asan() {
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DTL_SANITIZE=ON &&
    cmake --build build-asan -j "$jobs" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j "$jobs"
}

# ThreadSanitizer: the tests of the threaded parts: the engine's slots, the
# model registry and its reaper, the thread pool (every decode with -t > 1:
# test_kv_cache, test_engine) and the server's HTTP threads. Suppressions
# (each with its reason) go in tests/tsan.supp; it has none.
tsan_tests='^(unit/test_(engine|registry|kv_cache|threadpool)|cli/test_(server|serve_http))$'
stage_tsan() {
  configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTL_SANITIZE=thread &&
    cmake --build build-tsan -j "$jobs" &&
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
      ctest --test-dir build-tsan --output-on-failure -j "$jobs" --timeout 3000 -R "$tsan_tests"
}

stage_aarch64() {
  if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    echo "aarch64 stage skipped: needs aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/install-deps.sh --cross)"
    return 0
  fi
  configure build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
    -DTL_QEMU_CPU=max &&
    cmake --build build-aarch64 -j "$jobs" &&
    ctest --test-dir build-aarch64 --output-on-failure -j "$jobs" --timeout 3000
}

# A short run of every libFuzzer target (scripts/fuzz.sh, clang): any crash,
# leak or hang fails. The crashes found so far are replayed in every build's
# ctest (fuzz/replay_*); this looks for new ones. A fixed seed makes the
# inputs tried the same from run to run (how many depends on the machine's
# speed): long runs with fresh seeds are scripts/fuzz.sh TARGET SECONDS.
stage_fuzz() {
  if ! command -v clang >/dev/null; then
    echo "fuzz stage skipped: needs clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
    return 0
  fi
  JOBS=$jobs FUZZ_ARGS="-seed=1 ${FUZZ_ARGS:-}" scripts/fuzz.sh --smoke "${TL_FUZZ_SECONDS:-20}"
}

summary=()
failed=()
total_start=$SECONDS
for s in $stages; do
  if ! declare -F "stage_$s" >/dev/null; then
    echo "test.sh: unknown stage '$s' (TL_STAGES)" >&2
    failed+=("$s")
    continue
  fi
  echo "== stage $s"
  start=$SECONDS
  if "stage_$s"; then result=passed; else result=FAILED; failed+=("$s"); fi
  took=$((SECONDS - start))
  echo "== stage $s took $took s ($result)"
  summary+=("$(printf '%-10s %6d s  %s' "$s" "$took" "$result")")
done

echo "== summary (total $((SECONDS - total_start)) s)"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "== FAILED stages: ${failed[*]}"
  exit 1
fi
echo "== all tests passed"

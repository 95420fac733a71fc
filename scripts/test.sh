#!/usr/bin/env bash
# Builds tinyllm and runs the whole test suite twice: a normal release build,
# then an ASan+UBSan build. Exits non-zero on any failure.
#   TINYLLM_SHARED   shared models and vectors (default: ../shared)
#   JOBS             parallel build/test jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=${JOBS:-$(nproc)}
shared=${TINYLLM_SHARED:-$(cd .. && pwd)/shared}
export TINYLLM_SHARED=$shared

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTL_SHARED_DIR="$shared" >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== sanitizer build (ASan+UBSan) and tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTL_SANITIZE=ON -DTL_SHARED_DIR="$shared" >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== all tests passed"

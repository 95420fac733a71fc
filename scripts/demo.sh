#!/usr/bin/env bash
# Installs what is missing, builds tinyllm and tells a story with the tiny
# real model in ../shared/models/stories260K.gguf.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
shared=${TINYLLM_SHARED:-../shared}
build/tinyllm info -m "$shared/models/stories260K.gguf"
echo
build/tinyllm run -m "$shared/models/stories260K.gguf" -p "Once upon a time" -n 200 --temp 0

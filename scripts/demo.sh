#!/usr/bin/env bash
# Installs what is missing, builds tinyllm and tells a story with the tiny
# real model in ../shared/models/stories260K.gguf, then prints the commands
# to try next.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
shared=${TINYLLM_SHARED:-../shared}
build/tinyllm info -m "$shared/models/stories260K.gguf"
echo
build/tinyllm run -m "$shared/models/stories260K.gguf" -p "Once upon a time" -n 200 --temp 0

# What to try next, with the paths of this machine.
bin=$PWD/build/tinyllm
model=$(cd "$shared/models" && pwd)/stories260K.gguf
cat <<NEXT

The binary is $bin. Next, try:
  $bin run -m $model -p "Once upon a time" -n 100 --temp 0.8
  printf 'Tell me a story\n' | $bin chat -m $model -n 60      (or run it in a terminal)
  $bin serve -m $model                then open http://127.0.0.1:8080/
  $bin --help                          every command; README.md "Getting started" for real models
  cmake --install build --prefix ~/.local                     puts tinyllm on the PATH, with man tinyllm
NEXT

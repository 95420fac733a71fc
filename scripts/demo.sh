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
  # a story (different each time; --temp 0 gives the same one)
  $bin run -m $model -p "Once upon a time" -n 100
  # a chat (in a terminal: type a line, Ctrl-D quits)
  $bin chat -m $model -n 60
  # the HTTP server (Ollama and OpenAI APIs), with a chat page at http://127.0.0.1:8080/
  $bin serve -m $model
  # tinyllm on the PATH, with man tinyllm; README.md "Getting started" says where to get real models
  cmake --install $PWD/build --prefix ~/.local
NEXT

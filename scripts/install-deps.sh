#!/usr/bin/env bash
# Installs the Debian packages tinyllm needs to build and test, if missing.
# Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail

packages=(build-essential cmake pkg-config libpcre2-dev libcjson-dev libutf8proc-dev libcmocka-dev libmicrohttpd-dev)
optional=(valgrind)   # used by the test script when present
optional+=(libedit-dev)   # line editing in the interactive `tinyllm chat`
optional+=(python3)       # drives `tinyllm chat` through a pseudo-terminal in the tests
# The cross test of the ARM NEON kernels (tests/cross): an aarch64 compiler
# with its C library (only recommended, so named here) and user-mode qemu;
# the test is skipped without them.
optional+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

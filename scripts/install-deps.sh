#!/usr/bin/env bash
# Installs the Debian packages tinyllm needs to build and test, if missing.
# Safe to run repeatedly: it does nothing when everything is present.
#   scripts/install-deps.sh           build and test (scripts/demo.sh, scripts/test.sh)
#   scripts/install-deps.sh --cross   also the arm64 libraries for the aarch64 build
#                                     (scripts/test.sh's aarch64 stage): adds the
#                                     arm64 architecture to dpkg (Debian multiarch)
set -euo pipefail

cross=0
case "${1:-}" in
  --cross) cross=1 ;;
  "") ;;
  *) echo "usage: install-deps.sh [--cross]" >&2; exit 2 ;;
esac

packages=(build-essential cmake pkg-config libpcre2-dev libcjson-dev libutf8proc-dev libcmocka-dev libmicrohttpd-dev
          libcurl4-openssl-dev libssl-dev libsqlite3-dev)
optional=(valgrind libc6-dbg)   # the valgrind tests; libc6-dbg: valgrind's redirections in ld.so
optional+=(libedit-dev)   # line editing in the interactive `tinyllm chat`
optional+=(python3)       # drives `tinyllm chat` through a pseudo-terminal in the tests
optional+=(clang libclang-rt-14-dev) # the libFuzzer targets (scripts/fuzz.sh)
optional+=(clang-format)  # the format check (scripts/format.sh --check, test.sh's layers stage)
optional+=(libsimde-dev)  # the AVX-512 kernels emulated on any CPU (test_kernels_avx512_emulated)
optional+=(nodejs)        # the HTTP tests of `tinyllm serve` (tests/server/*.mjs, no npm packages)
# The cross test of the ARM NEON kernels (tests/cross) and the aarch64 build:
# an aarch64 compiler with its C library (only recommended, so named here)
# and user-mode qemu; the tests are skipped without them.
optional+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
# The aarch64 build of the library and its unit tests (cmake/aarch64-linux-gnu.cmake)
# links the arm64 builds of the libraries, installed beside the host's.
arm64=(libpcre2-dev:arm64 libcjson-dev:arm64 libutf8proc-dev:arm64 libcmocka-dev:arm64
       libmicrohttpd-dev:arm64 libedit-dev:arm64 libcurl4-openssl-dev:arm64 libssl-dev:arm64 libsqlite3-dev:arm64)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ "$cross" = 1 ]; then
  for p in "${arm64[@]}"; do
    installed "$p" || missing+=("$p")
  done
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ "$cross" = 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
fi
# When another apt or dpkg holds the lock (unattended-upgrades, a second
# install), wait for it up to 10 minutes instead of failing at once:
# apt-get install waits for dpkg's lock with DPkg::Lock::Timeout, but
# apt-get update (apt 2.6) takes the package lists' lock without waiting,
# so it is tried again while its error is "Could not get lock".
lock=(-o DPkg::Lock::Timeout=600)
apt_update() {
  local deadline=$((SECONDS + 600)) out waiting=0
  until out=$($sudo apt-get "${lock[@]}" update -qq 2>&1); do
    if ! grep -q "Could not get lock" <<<"$out" || [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    [ "$waiting" = 1 ] || echo "install-deps: waiting for another apt to release its lock" >&2
    waiting=1
    sleep 2
  done
  [ -z "$out" ] || printf '%s\n' "$out" >&2
}
apt_update
$sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

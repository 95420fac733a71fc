#!/usr/bin/env bash
# run_neon_test.sh — cross-compiles tests/cross/neon_test.c with the NEON
# kernels for aarch64 and runs it under qemu-user, once on a CPU with the
# dot-product and int8 matrix extensions (-cpu max), on one with dot
# product only (cortex-a76) and on a plain armv8-a CPU (cortex-a57): an
# SMMLA or SDOT reaching a path meant for a CPU without it would trap.
# Also checks that every library source compiles for aarch64.
#
# Usage: run_neon_test.sh SOURCE_DIR BUILD_DIR
# Tools: aarch64-linux-gnu-gcc (or $TL_AARCH64_CC) and qemu-aarch64 /
# qemu-aarch64-static (or $TL_QEMU_AARCH64); exits 77 (skipped) without them.
# Packages (Debian 12): gcc-aarch64-linux-gnu qemu-user (scripts/install-deps.sh).
# With TL_SANITIZE=1 the test is built with AddressSanitizer and UBSan and
# linked dynamically (qemu loads the libraries of $TL_AARCH64_SYSROOT,
# default /usr/aarch64-linux-gnu).
set -euo pipefail

src=${1:?usage: run_neon_test.sh SOURCE_DIR BUILD_DIR}
out=${2:?usage: run_neon_test.sh SOURCE_DIR BUILD_DIR}

cc=${TL_AARCH64_CC:-$(command -v aarch64-linux-gnu-gcc || true)}
qemu=${TL_QEMU_AARCH64:-$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)}
if [ -z "$cc" ] || [ -z "$qemu" ]; then
  echo "SKIP: needs aarch64-linux-gnu-gcc and qemu-aarch64 (apt-get install gcc-aarch64-linux-gnu qemu-user)"
  exit 77
fi

mkdir -p "$out"
cflags=(-std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
        -DTL_HAVE_NEON_KERNELS -I"$src/include" -I"$src/src")
# Per-file target flags, as in the top-level CMakeLists.txt.
file_flags() {
  case "$(basename "$1")" in
    neon_dotprod.c) echo "-march=armv8.2-a+dotprod" ;;
    neon_i8mm.c) echo "-march=armv8.2-a+dotprod+i8mm" ;;
  esac
}

# 1. Every library source must compile for aarch64 (x86 code must be guarded).
#    Host headers of the library's dependencies (pcre2) are architecture
#    independent, so they are searched after the cross sysroot's.
status=0
for f in "$src"/src/*/*.c "$src"/src/tensor/arm/*.c; do
  # shellcheck disable=SC2046
  "$cc" "${cflags[@]}" $(file_flags "$f") -idirafter /usr/include -fsyntax-only "$f" || {
    echo "FAIL: $f does not compile for aarch64"; status=1; }
done

# 2. The kernel test, linked statically so qemu needs no aarch64 libraries
#    (dynamically when sanitized). Objects go into an archive so that only
#    what the test uses is linked.
sanitize=()
link=(-static)
qemu_args=()
case "${TL_SANITIZE:-0}" in
  1|ON|on|TRUE|true)
    sysroot=${TL_AARCH64_SYSROOT:-/usr/aarch64-linux-gnu} # Debian's cross libraries
    sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    link=()
    # The loader of $sysroot with the C library beside it, not the multiarch
    # libc6:arm64 in /lib/aarch64-linux-gnu (another glibc build: mixing them hangs).
    qemu_args=(-L "$sysroot" -E "LD_LIBRARY_PATH=$sysroot/lib")
    export ASAN_OPTIONS=detect_leaks=0 ;; # LeakSanitizer cannot run under qemu-user
esac
cflags+=("${sanitize[@]}")
rm -f "$out"/*.o "$out/libtensor.a"
for f in "$src"/src/tensor/*.c "$src"/src/tensor/arm/*.c "$src"/src/util/error.c; do
  # shellcheck disable=SC2046
  "$cc" "${cflags[@]}" $(file_flags "$f") -c "$f" -o "$out/$(basename "${f%.c}").o"
done
aarch64_ar=${cc%gcc}ar
[ -x "$(command -v "$aarch64_ar")" ] || aarch64_ar=ar
"$aarch64_ar" rcs "$out/libtensor.a" "$out"/*.o
"$cc" "${cflags[@]}" "${link[@]}" "$src/tests/cross/neon_test.c" "$out/libtensor.a" -lm -lpthread \
  -o "$out/neon_test"

# The files for plain armv8-a must not contain optional-extension
# instructions even on paths this test does not reach.
objdump=${cc%gcc}objdump
if [ -x "$(command -v "$objdump")" ]; then
  for f in "$src"/src/tensor/arm/*.c; do
    [ -n "$(file_flags "$f")" ] && continue
    o="$out/$(basename "${f%.c}").o"
    if "$objdump" -d "$o" | grep -qwE 'sdot|udot|smmla|ummla|usmmla|fmlal|fmlal2'; then
      echo "FAIL: $(basename "$f") uses instructions beyond armv8-a"; status=1
    fi
  done
fi

for cpu in max cortex-a76 cortex-a57; do
  echo "== qemu-aarch64 -cpu $cpu"
  "$qemu" "${qemu_args[@]}" -cpu "$cpu" "$out/neon_test" || status=1
done
exit $status

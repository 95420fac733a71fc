#!/bin/sh
# scripts/check-exports.sh LIBRARY [HEADER] — libtinyllm.so exports exactly the
# API: every symbol it defines for others is a function declared in
# include/tinyllm.h, and every function declared there is exported (the
# library is compiled with hidden visibility; tinyllm.h marks the API TL_API).
#   NM   the nm to use (default: nm; a cross build's own works too)
#   CC   the compiler that preprocesses the header (default: cc)
# Run by scripts/test.sh and by ctest (layers/exports).
set -eu
lib=${1:?usage: check-exports.sh LIBRARY [HEADER]}
header=${2:-$(dirname "$0")/../include/tinyllm.h}
nm=${NM:-nm}
cc=${CC:-cc}
[ -f "$lib" ] || { echo "check-exports: $lib not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Declared: every tl_name( of the preprocessed header (comments gone; a
# function-pointer typedef reads "(*tl_name)(" and does not match).
"$cc" -E -P -x c "$header" | grep -o '\btl_[a-z0-9_]*[ ]*(' | sed 's/[ (]//g' | sort -u >"$tmp/declared"
# Exported: the dynamic symbols the library defines (code and data), without
# the ones the toolchain adds (_init, _fini, __bss_start, ...: a leading _).
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ && $3 !~ /^_/ { print $3 }' | sed 's/@.*//' |
  sort -u >"$tmp/exported"
[ -s "$tmp/declared" ] || { echo "check-exports: no tl_ function found in $header" >&2; exit 1; }

status=0
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
  echo "check-exports: $lib exports $(echo "$extra" | wc -l) symbols that tinyllm.h does not declare:" >&2
  echo "$extra" | sed 's/^/  /' >&2
  status=1
fi
if [ -n "$missing" ]; then
  echo "check-exports: $lib does not export $(echo "$missing" | wc -l) functions of tinyllm.h (TL_API missing?):" >&2
  echo "$missing" | sed 's/^/  /' >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-exports: $lib exports exactly the $(wc -l <"$tmp/declared") functions of tinyllm.h"
exit $status

#!/usr/bin/env bash
# Formats the tree's C sources with clang-format and the repository's .clang-format.
#   scripts/format.sh           rewrite every tracked .c and .h file in place
#   scripts/format.sh --check   change nothing; list the files clang-format would change, exit 1 if any
#   scripts/format.sh FILE...   format only these files
# Tables that read best as written are fenced with "// clang-format off" / "// clang-format on".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format.sh: clang-format is not installed (scripts/install-deps.sh)" >&2; exit 1; }

check=0
[ "${1:-}" = "--check" ] && { check=1; shift; }
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(git ls-files '*.c' '*.h'); fi

if [ "$check" = 0 ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format "$f" | cmp -s - "$f"; then
    echo "format.sh: $f is not formatted (run scripts/format.sh $f)" >&2
    bad=1
  fi
done
exit "$bad"

#!/bin/sh
# scripts/check-layers.sh [SOURCE_DIR] — fails when an include crosses a layer
# upwards. The layers and their order are cmake/layers.txt: a folder may
# include its own headers and those of folders of lower rank; an include of a
# folder of the same or a higher rank prints
#   src/X/file.c:LINE includes src/Y/... (layer src/Y is above src/X)
# and the script exits 1. Also an error: a source folder missing from the table,
# and an include path with "..". Run by scripts/test.sh and by ctest (layers/includes).
set -eu
root=${1:-$(dirname "$0")/..}
cd "$root"
table=cmake/layers.txt
[ -f "$table" ] || { echo "check-layers: $table not found in $(pwd)" >&2; exit 1; }

# Every C file of every folder under src/ and of the table's other folders.
files=$( { find src -name '*.[ch]'; awk '/^[0-9]/ { print $2 }' "$table" | grep -v '^src/' |
           while read -r dir; do [ -d "$dir" ] && find "$dir" -name '*.[ch]'; done; } | sort -u)
[ -n "$files" ] || { echo "check-layers: no sources under $(pwd)/src" >&2; exit 1; }

# shellcheck disable=SC2086
awk -v table="$table" '
BEGIN {
  while ((getline line < table) > 0) {
    if (line !~ /^[0-9]/) continue
    split(line, f, /[ \t]+/)
    rank[f[2]] = f[1] + 0
  }
}
# The table folder holding a file: the longest folder that is a prefix of its path.
function folder_of(path,    d, best) {
  best = ""
  for (d in rank)
    if (index(path, d "/") == 1 && length(d) > length(best)) best = d
  return best
}
FNR == 1 {
  self = folder_of(FILENAME)
  if (self == "") {
    printf "%s: folder not in %s (add it with its rank)\n", FILENAME, table
    bad = 1
    nextfile
  }
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
  target = $0
  sub(/^[^"]*"/, "", target)
  sub(/".*/, "", target)
  if (target ~ /(^|\/)\.\.(\/|$)/) {
    printf "%s:%d includes \"%s\" (name headers from src/, without \"..\")\n", FILENAME, FNR, target
    bad = 1
    next
  }
  if (index(target, "/") == 0) next            # tinyllm.h or a header beside the file
  top = target
  sub(/\/.*/, "", top)
  dir = "src/" top
  if (!(dir in rank)) {
    printf "%s:%d includes %s (folder not in %s)\n", FILENAME, FNR, "src/" target, table
    bad = 1
    next
  }
  if (dir == self) next
  if (rank[dir] > rank[self]) {
    printf "%s:%d includes %s (layer %s is above %s)\n", FILENAME, FNR, "src/" target, dir, self
    bad = 1
  } else if (rank[dir] == rank[self]) {
    printf "%s:%d includes %s (layer %s is beside %s: same rank)\n", FILENAME, FNR, "src/" target, dir, self
    bad = 1
  }
}
END { exit bad }
' $files || { echo "check-layers: includes cross layers upwards (the order is $table)" >&2; exit 1; }
echo "check-layers: $(echo "$files" | wc -l) files, no include crosses a layer upwards"

#!/bin/sh
# scripts/check-layers.sh [SOURCE_DIR [BUILD_DIR]] — fails when an include
# crosses a layer upwards. The layers and their order are cmake/layers.txt: a
# folder may include its own headers and those of folders of lower rank; an
# include of a folder of the same or a higher rank prints
#   src/X/file.c:LINE includes src/Y/... (layer src/Y is above src/X)
# and the script exits 1. Also an error: a source folder missing from the table,
# and an include path with "..".
# With BUILD_DIR (a configured and built tree), also the calls: every function
# or variable an object file of folder X uses from another folder must be
# defined in a lower layer (tinyllm.h is everyone's header, so an upward call
# through the API is invisible to includes). NM: the nm to use (default: nm).
# Run by scripts/test.sh and by ctest (layers/includes, layers/calls).
set -eu
root=${1:-$(dirname "$0")/..}
build=${2:-}
[ -z "$build" ] || build=$(cd "$build" && pwd)
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
[ -n "$build" ] || exit 0

# The calls: nm -A of every folder's objects (CMake lists them in
# BUILD_DIR/layers/FOLDER/objects.txt), each line tagged with its folder.
listing=$(awk '/^[0-9]/ { print $1, $2 }' "$table" | while read -r rank dir; do
  list=$build/layers/$dir/objects.txt
  [ -f "$list" ] || continue
  while read -r obj; do
    [ -n "$obj" ] && "${NM:-nm}" -A "$obj" | sed "s|^|$rank $dir |"
  done <"$list"
done)
[ -n "$listing" ] || { echo "check-layers: no object files listed in $build/layers (configure and build first)" >&2; exit 1; }
echo "$listing" | awk '
# fields: rank folder object:address type symbol (defined) | rank folder object: U symbol
NF == 5 && $4 ~ /^[TDBRVW]$/ { owner[$5] = $2; owner_rank[$5] = $1 }
NF == 5 && $4 == "U" { n++; urank[n] = $1; udir[n] = $2; uobj[n] = $3; usym[n] = $5 }
END {
  for (i = 1; i <= n; i++) {
    s = usym[i]
    if (!(s in owner) || owner[s] == udir[i] || owner_rank[s] < urank[i]) continue
    src = uobj[i]
    sub(/:$/, "", src); sub(/^.*\.dir\//, "", src); sub(/\.o$/, "", src)  # CMake: TARGET.dir/src/X/f.c.o
    printf "%s calls %s of %s (layer %s is %s %s)\n", src, s, owner[s], owner[s],
           owner_rank[s] == urank[i] ? "beside" : "above", udir[i]
    bad = 1
  }
  exit bad
}' || { echo "check-layers: calls cross layers upwards (the order is $table)" >&2; exit 1; }
echo "check-layers: the objects of $build call no function of a higher layer"

# valgrind finds no leaks or invalid accesses in `tinyllm run`.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf
command -v valgrind >/dev/null || { echo "skipped: valgrind is not installed"; exit 77; }
[ "${TL_SANITIZE:-0}" != "0" ] && { echo "skipped: sanitizer build (sanitizers and valgrind do not mix)"; exit 77; }
valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
  "$TINYLLM" run -m "$SHARED/models/stories260K.gguf" -p "Once upon a time" -n 20 --temp 0.8 -s 5 -t 2 \
  >"$TMP/out.txt" 2>"$TMP/vg.txt"
code=$?
if [ "$code" -eq 0 ] && grep -q "All heap blocks were freed\|definitely lost: 0 bytes" "$TMP/vg.txt"; then pass "valgrind run clean"
else fail "valgrind exit $code"; tail -30 "$TMP/vg.txt" >&2; fi
finish

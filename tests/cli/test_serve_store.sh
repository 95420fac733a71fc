# tinyllm serve over the model store: /api/pull from the local mock Hub (tests/hub/mock_hub.mjs), /api/tags,
# /api/show, /api/copy, /api/create, /api/delete, who may pull, bad bodies, a client that leaves mid-pull
# (tests/server/store_api_test.mjs starts the mock Hub and its servers itself), and the new flags in --help.
source "$(dirname "$0")/lib.sh"
need_shared models/stories260K.gguf models/stories260K-v2-q8_0.gguf
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }

node "$(dirname "$0")/../server/store_api_test.mjs" "$TINYLLM" "$SHARED/models" "$TMP/store-api" \
  || fail "store_api_test.mjs (see above)"

"$TINYLLM" serve --help >"$TMP/help.txt"
for flag in --allow-pull --hub-endpoint; do
  grep -q -- "$flag " "$TMP/help.txt" || fail "--help does not list $flag"
done
pass "--help lists --allow-pull and --hub-endpoint"
finish

# What a new user meets first: the "first steps" of `tinyllm --help`;
# `cmake --install` (binary, shared library, header, pkg-config file, man page,
# synth's vocabularies) and a program built against the installed library;
# the man page against every command's --help; `synth` run outside the
# repository; README's package list against scripts/install-deps.sh.
source "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$1")" && pwd)   # the build tree holding the binary
[[ $TINYLLM = /* ]] || TINYLLM=$PWD/$TINYLLM   # it is run from other folders below
SOURCE=$PWD                             # CTest runs the CLI tests from the source root

# --- tinyllm --help: first steps ------------------------------------------------
"$TINYLLM" --help >"$TMP/help.txt"
for pattern in "^first steps" "^  tinyllm run -m MODEL.gguf -p" "^  tinyllm chat -m MODEL.gguf" \
               "^  tinyllm serve --models DIR" "man tinyllm"; do
  grep -qE -- "$pattern" "$TMP/help.txt" && pass "--help: $pattern" || fail "--help lacks '$pattern'"
done

# --- the first commands README.md's "Getting started" and scripts/demo.sh suggest work -------
# try_command WHERE LINE: runs a suggested `tinyllm run|chat|serve ...` line (shell words, already
# naming this test's binary and shared folder): `--help` shows the first steps, `run` prints text, `chat` answers a line on stdin,
# `serve` (on a free port) says it is listening.
try_command() {
  local where=$1 line=$2
  eval "set -- $line"
  case $2 in
    --help) "$@" >"$TMP/try.out" 2>"$TMP/try.err" && grep -q "^first steps" "$TMP/try.out" ;;
    run)  "$@" </dev/null >"$TMP/try.out" 2>"$TMP/try.err" && [ -s "$TMP/try.out" ] ;;
    chat) echo "Hello" | "$@" >"$TMP/try.out" 2>"$TMP/try.err" && [ -s "$TMP/try.out" ] ;;
    serve)
      "$@" --port 0 </dev/null >"$TMP/try.out" 2>"$TMP/try.err" &
      local pid=$!
      wait_for --pid $pid 60 grep -q "listening on http://" "$TMP/try.out"
      local up=$?
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      [ $up = 0 ] ;;
    *) false ;;
  esac && pass "$where: tinyllm ${line#* }" || fail "$where: '$line' failed: $(head -c 300 "$TMP/try.err")"
}
if [ -f "$SHARED/models/stories260K.gguf" ]; then
  tried=0
  while read -r line; do
    try_command "README" "${line//..\/shared/$SHARED}"; tried=$((tried + 1))
  done < <(sed -n '/^## Getting started/,/^## [^G]/p' README.md | sed -n 's/^build\/tinyllm \([^#]*\).*/"$TINYLLM" \1/p')
  [ "$tried" -ge 3 ] || fail "README's Getting started: $tried tinyllm commands found, expected run, chat, serve"
  tried=0
  while read -r line; do
    try_command "demo.sh" "\"$TINYLLM\" ${line#"$TINYLLM "}"; tried=$((tried + 1))
  done < <(sed -n '/^# What to try next/,$p' scripts/demo.sh | sed 's|^bin=.*|bin=$TINYLLM|' |
           TINYLLM=$TINYLLM shared=$SHARED bash | sed -n "s|^  $TINYLLM |$TINYLLM |p")
  [ "$tried" -ge 3 ] || fail "demo.sh's next commands: $tried found, expected run, chat, serve"
else
  echo "first commands skipped: $SHARED/models/stories260K.gguf is not there"
fi

# --- cmake --install --------------------------------------------------------------
command -v cmake >/dev/null || { echo "skipped: cmake is not on the PATH"; exit 77; }
PREFIX=$TMP/prefix
if cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1; then pass "cmake --install"
else fail "cmake --install: $(tail -3 "$TMP/install.log")"; finish; fi
pc=$(find "$PREFIX" -name tinyllm.pc)
LIBDIR=$(dirname "$(dirname "$pc")")
for f in bin/tinyllm include/tinyllm.h share/man/man1/tinyllm.1; do
  [ -f "$PREFIX/$f" ] && pass "installed $f" || fail "not installed: $f"
done
[ -n "$pc" ] && pass "installed ${pc#"$PREFIX"/}" || fail "not installed: tinyllm.pc"
[ -f "$LIBDIR/libtinyllm.a" ] && pass "installed libtinyllm.a" || fail "not installed: libtinyllm.a"
if [ -L "$LIBDIR/libtinyllm.so" ] && [ -L "$LIBDIR/libtinyllm.so.0" ] && [ -f "$LIBDIR/libtinyllm.so.0.1.0" ]; then
  pass "libtinyllm.so -> .so.0 -> .so.0.1.0"
else fail "shared library links: $(ls -l "$LIBDIR" | grep libtinyllm.so)"; fi
if command -v readelf >/dev/null; then
  soname=$(readelf -d "$LIBDIR/libtinyllm.so.0.1.0" | grep -o 'SONAME.*' | grep -o '\[.*\]')
  [ "$soname" = "[libtinyllm.so.0]" ] && pass "SONAME $soname" || fail "SONAME '$soname', expected libtinyllm.so.0"
fi
"$PREFIX/bin/tinyllm" --version | grep -q "^tinyllm [0-9]" && pass "installed binary runs" \
  || fail "installed binary: $("$PREFIX/bin/tinyllm" --version 2>&1)"

# synth's vocabularies: every one `synth --help` names (those the shared folder has) is installed.
"$TINYLLM" synth --help | sed -n 's/.*(vocabulary \([^@)][^)]*\))$/\1/p' | sort -u >"$TMP/vocabs.txt"
[ -s "$TMP/vocabs.txt" ] || fail "no vocabulary listed by synth --help"
while read -r v; do
  [ -e "$SHARED/tokenizers/$v" ] || continue
  [ -f "$PREFIX/share/tinyllm/tokenizers/$v" ] && pass "installed vocabulary $v" \
    || fail "vocabulary $v is not installed (CMakeLists.txt's TL_SYNTH_VOCABS)"
done <"$TMP/vocabs.txt"

# --- a program built with pkg-config against the installed library --------------------
cat >"$TMP/app.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <tinyllm.h>
int main(int argc, char **argv) {
    tl_model_params params = tl_model_default_params();
    tl_model *model = NULL;
    tl_error err = {0};
    if (argc < 2 || tl_model_load(argv[1], &params, &model, &err) != TL_OK) {
        fprintf(stderr, "load: %s\n", err.message);
        return 1;
    }
    tl_token tokens[64];
    const char *text = "Once upon a time";
    int32_t n = tl_tokenize(model, text, strlen(text), true, false, tokens, 64);
    char back[256];
    int32_t len = tl_detokenize(model, tokens, n, false, true, back, sizeof back - 1);
    if (len < 0) return 1;
    back[len] = '\0';
    printf("%s %d tokens: %s\n", TL_VERSION, n, back);
    tl_model_free(model);
    return 0;
}
EOF
M=$SHARED/models/stories260K.gguf
if [ "${TL_SANITIZE:-0}" != 0 ]; then
  echo "pkg-config program skipped: a sanitizer build's library needs the sanitizer runtime"
elif ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null; then
  echo "pkg-config program skipped: no cc or pkg-config"
elif [ ! -f "$M" ]; then
  echo "pkg-config program skipped: $M is not there"
else
  flags=$(PKG_CONFIG_PATH=$LIBDIR/pkgconfig pkg-config --cflags --libs tinyllm) || fail "pkg-config tinyllm"
  # shellcheck disable=SC2086
  if cc -std=c11 -Wall -Werror "$TMP/app.c" -o "$TMP/app" $flags 2>"$TMP/cc.log"; then pass "cc app.c \$(pkg-config --cflags --libs tinyllm)"
  else fail "compiling against the installed library: $(head -5 "$TMP/cc.log")"; fi
  if [ -x "$TMP/app" ]; then
    libs=$(LD_LIBRARY_PATH=$LIBDIR ldd "$TMP/app")
    grep -qF "libtinyllm.so.0 => $LIBDIR/libtinyllm.so.0" <<<"$libs" \
      && pass "the program uses the installed libtinyllm.so.0" || fail "ldd: $(grep tinyllm <<<"$libs")"
    out=$(LD_LIBRARY_PATH=$LIBDIR "$TMP/app" "$M" 2>&1)
    [[ $out =~ ^[0-9.]+\ [0-9]+\ tokens:\ \ ?Once\ upon\ a\ time$ ]] && pass "the program runs: $out" || fail "the program printed: $out"
  fi
fi

# --- the man page: it parses, and it names every long flag of every command's --help ----
MAN=$SOURCE/docs/tinyllm.1
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
  [ -z "$warnings" ] && pass "man --warnings -l docs/tinyllm.1: clean" || fail "man page warnings: $warnings"
elif command -v groff >/dev/null; then
  warnings=$(groff -man -ww -z "$MAN" 2>&1)
  [ -z "$warnings" ] && pass "groff -ww docs/tinyllm.1: clean" || fail "man page warnings: $warnings"
else
  echo "man page check skipped: neither man nor groff is installed"
fi
version=$("$TINYLLM" --version | cut -d' ' -f2)
grep -q "^\.TH TINYLLM 1 .* \"tinyllm $version\"" "$MAN" && pass "man page of tinyllm $version" \
  || fail "the man page's .TH line does not say tinyllm $version: $(grep '^\.TH' "$MAN")"
cmp -s "$MAN" "$PREFIX/share/man/man1/tinyllm.1" && pass "installed man page is docs/tinyllm.1" || fail "installed man page differs"
# A command's section: from its `.SS "tinyllm CMD ..."` to the next .SS/.SH, plus the shared
# CONTEXT/SAMPLING OPTIONS sections when it refers to them. Flags are written \-\-name in roff.
man_section() {
  awk -v cmd="$1" '
    /^\.S[SH] / { on = 0 }
    index($0, ".SS \"tinyllm " cmd " ") == 1 { on = 1 }
    on' "$MAN"
}
shared_section() { awk -v name="$1" '/^\.S[SH] / { on = ($0 == ".SH \"" name "\"") } on' "$MAN"; }
commands=$("$TINYLLM" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
[ "$(wc -w <<<"$commands")" -ge 11 ] || fail "commands found in tinyllm --help: $commands"
for c in $commands; do
  section=$(man_section "$c")
  [ -n "$section" ] || { fail "man page: no section for '$c'"; continue; }
  for shared in "CONTEXT OPTIONS" "SAMPLING OPTIONS" "SPECULATIVE DECODING OPTIONS"; do
    grep -q "^\.B $shared$" <<<"$section" && section+=$'\n'$(shared_section "$shared")
  done
  missing=""
  for flag in $("$TINYLLM" "$c" --help | grep -oE '^  (-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'); do
    [ "$flag" = --help ] && continue
    grep -qF -- "${flag//-/\\-}" <<<"$section" || missing+=" $flag"
  done
  [ -z "$missing" ] && pass "man page: every flag of '$c --help'" || fail "man page section of '$c' lacks:$missing"
done

# --- synth outside the repository -------------------------------------------------------
V=llama.cpp-vocab/ggml-vocab-qwen2.gguf
if [ ! -f "$SHARED/tokenizers/$V" ]; then
  echo "synth checks skipped: $SHARED/tokenizers/$V is not there"
else
  mkdir -p "$TMP/elsewhere"   # no ../shared beside it
  synth_ok() {  # NAME BINARY [ENV...]: synth from $TMP/elsewhere writes a model that loads
    local name=$1 bin=$2; shift 2
    rm -f "$TMP/elsewhere/m.gguf"
    if (cd "$TMP/elsewhere" && env -u TINYLLM_SHARED "$@" "$bin" synth --preset qwen2-test -o m.gguf 2>"$TMP/synth.err") &&
       "$TINYLLM" info -m "$TMP/elsewhere/m.gguf" >/dev/null 2>&1; then pass "$name"
    else fail "$name: $(cat "$TMP/synth.err")"; fi
  }
  synth_ok "synth from elsewhere, build tree binary (TL_SHARED_DIR)" "$TINYLLM"
  synth_ok "synth from elsewhere, installed binary (installed vocabularies)" "$PREFIX/bin/tinyllm"
  rm -rf "$PREFIX/share/tinyllm"
  synth_ok "synth from elsewhere with TINYLLM_SHARED" "$PREFIX/bin/tinyllm" TINYLLM_SHARED="$SHARED"
  cd "$TMP/elsewhere" || exit 1
  expect_error "synth with no vocabulary anywhere" \
    "^tinyllm synth: vocabulary tokenizers/$V of preset 'qwen2-test' not found: set TINYLLM_SHARED to the folder holding tokenizers/ \(or install with cmake --install\)$" \
    -- env -u TINYLLM_SHARED "$PREFIX/bin/tinyllm" synth --preset qwen2-test -o m.gguf
  expect_error "synth with TINYLLM_SHARED elsewhere" "not found: set TINYLLM_SHARED" \
    -- env TINYLLM_SHARED="$TMP" "$PREFIX/bin/tinyllm" synth --preset qwen2-test -o m.gguf
  cd "$SOURCE" || exit 1
fi

# --- README's package list is what scripts/install-deps.sh installs ----------------------
# The script's arrays (from `packages=` to the function after them), evaluated here.
eval "$(sed -n '/^packages=/,/^installed()/p' "$SOURCE/scripts/install-deps.sh" | grep -v '^installed()')"
script_host=$(printf '%s\n' "${packages[@]}" "${optional[@]}" | sort)
script_arm64=$(printf '%s\n' "${arm64[@]}" | sort)
readme=$(tr '\n' ' ' <"$SOURCE/README.md")
readme_host=$(sed -n 's/.*`scripts\/install-deps.sh` installs `\([^`]*\)` when missing.*/\1/p' <<<"$readme" | tr -s ' ' '\n' | sort)
readme_arm64=$(sed -n 's/.*installs `\(libpcre2-dev:arm64[^`]*\)`.*/\1/p' <<<"$readme" | tr -s ' ' '\n' | sort)
[ -n "$readme_host" ] && [ "$readme_host" = "$script_host" ] && pass "README's package list = install-deps.sh's" \
  || fail "README's packages differ from install-deps.sh's: $(diff <(echo "$readme_host") <(echo "$script_host") | tr '\n' ' ')"
[ -n "$readme_arm64" ] && [ "$readme_arm64" = "$script_arm64" ] && pass "README's arm64 list = install-deps.sh's" \
  || fail "README's arm64 packages differ: $(diff <(echo "$readme_arm64") <(echo "$script_arm64") | tr '\n' ' ')"
grep -q 'DPkg::Lock::Timeout' "$SOURCE/scripts/install-deps.sh" && pass "install-deps.sh waits for apt's lock" \
  || fail "install-deps.sh does not wait for apt's lock"
finish

#!/usr/bin/env bash
# bench/search.sh — issue 15's "speed and scale" figures for tinyllm index / search, side by side with llama.cpp and
# FAISS. Benchmarks, not tests: nothing here runs in ctest, and the default build needs none of it.
#
#   bench/search.sh [index|search|all]        (default all; build/ must hold a Release build of tinyllm)
#
# index  Index throughput. A random-weight bert of the all-MiniLM-L6-v2 shape (tinyllm synth --preset
#        all-minilm-l6-v2 --type $TYPE) and a generated English-like corpus of about $CHUNKS chunks of
#        $CHUNK_TOKENS tokens (files of 100 chunks; no overlap). `tinyllm index -t $THREADS` is timed end to end
#        (walk, chunking, embedding, SQLite, sidecar); then its chunks are exported from the database and
#        bench/llama_embed.c (built here against node-llama-cpp's prebuilt libllama in
#        scripts/reference/node_modules) embeds the same texts as llama-embedding does: sequences packed into
#        batches of $LLAMA_BATCH tokens, one llama_decode each, mean pooling. Prints chunks/s and the ratio.
# search Search latency and int8 recall, bench/search_bench.c (built here against build/libtinyllm_search.a): $SIZES
#        random normalized 384-dim vectors (clustered: 1000 random centres plus noise, so that top-10 lists mean
#        something) written straight into a database's vector sidecar (no embedding), float32 and int8 (the float32
#        one's int8 companion is built by the first, untimed, query); the median (and the fastest, a better guess on a
#        busy machine) over $QUERIES queries of tl_search_query (vector mode, k = 10, 2 threads), the process's RSS (the
#        sidecar is mapped, not copied), and the top-10 overlap of int8 with float32 over $RECALL_QUERIES queries. Then
#        bench/faiss_bench.cpp (built here with g++ against Debian's libfaiss-dev, static libfaiss.a + BLAS + OpenMP;
#        `apt-get install libfaiss-dev`) runs the same queries on an IndexFlatIP of the same float32 vectors (read from
#        the sidecar, copied into FAISS), OMP_NUM_THREADS=$THREADS.
#
# Knobs (environment): CHUNKS (20000), CHUNK_TOKENS (128), TYPE (f16), THREADS (2), LLAMA_BATCH (2048), LLAMA_CHUNKS
# (llama.cpp embeds only the first N of the same chunks, its rate being per chunk: default all),
# SIZES ("100000 1000000"), QUERIES (200), RECALL_QUERIES (1000), WORK (a temporary directory, removed).
# On a busy machine take several runs and the best; the script runs each measurement once.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
WHAT=${1:-all}
CHUNKS=${CHUNKS:-20000}
CHUNK_TOKENS=${CHUNK_TOKENS:-128}
TYPE=${TYPE:-f16}
THREADS=${THREADS:-2}
LLAMA_BATCH=${LLAMA_BATCH:-2048}
LLAMA_CHUNKS=${LLAMA_CHUNKS:-}
SIZES=${SIZES:-"100000 1000000"}
QUERIES=${QUERIES:-200}
RECALL_QUERIES=${RECALL_QUERIES:-1000}
NAME=$(basename "$0")

case $WHAT in index | search | all) ;; *) echo "$NAME: unknown part '$WHAT' (index, search or all)" >&2; exit 1 ;; esac
for knob in CHUNKS CHUNK_TOKENS THREADS LLAMA_BATCH QUERIES RECALL_QUERIES LLAMA_CHUNKS; do
  value=${!knob}
  [ "$knob" = LLAMA_CHUNKS ] && [ -z "$value" ] && continue
  [[ $value =~ ^[1-9][0-9]*$ ]] || { echo "$NAME: $knob must be a positive whole number, got '$value'" >&2; exit 1; }
done
[ -x "$BUILD/tinyllm" ] || { echo "$NAME: no $BUILD/tinyllm: build tinyllm first (Release)" >&2; exit 1; }
if [ -n "${WORK:-}" ]; then
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi

sqlite3_count() {
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM chunks").fetchone()[0])' "$1"
}

index_bench() {
  local model=$WORK/minilm-$TYPE.gguf corpus=$WORK/corpus db=$WORK/index.db
  "$BUILD/tinyllm" synth --preset all-minilm-l6-v2 --type "$TYPE" -o "$model" >/dev/null
  rm -rf "$corpus" "$db" "$db.vectors"
  # About 0.75 words per token for this vocabulary: files of 100 chunks' worth of sentences from a fixed word list.
  python3 - "$corpus" "$CHUNKS" "$CHUNK_TOKENS" <<'EOF'
import os, random, sys
out, chunks, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
words = ("time year people way day man thing woman life child world school state family student group country "
         "problem hand part place case week company system program question work government number night point "
         "home water room mother area money story fact month lot right study book eye job word business issue side "
         "kind head house service friend father power hour game line end member law car city community name "
         "president team minute idea kid body information back parent face others level office door health person "
         "art war history party result change morning reason research girl guy moment air teacher force education "
         "quickly carefully measure small large early young important few public bad same able").split()
rng = random.Random(15)
os.makedirs(out, exist_ok=True)
per_file = 100
for f in range((chunks + per_file - 1) // per_file):
    n_words = min(per_file, chunks - f * per_file) * tokens * 3 // 4
    paragraphs, sentence, para = [], [], []
    for _ in range(n_words):
        sentence.append(rng.choice(words))
        if len(sentence) >= rng.randint(6, 18):
            para.append(" ".join(sentence).capitalize() + ".")
            sentence = []
            if len(para) >= rng.randint(3, 7):
                paragraphs.append(" ".join(para))
                para = []
    paragraphs.append(" ".join(para + [" ".join(sentence)]))
    with open(os.path.join(out, "doc%05d.txt" % f), "w") as fp:
        fp.write("\n\n".join(paragraphs) + "\n")
EOF
  local t0 t1
  t0=$(date +%s.%N)
  "$BUILD/tinyllm" index -q --db "$db" -m "$model" --chunk-tokens "$CHUNK_TOKENS" --overlap 0 -t "$THREADS" "$corpus" >/dev/null
  t1=$(date +%s.%N)
  # The chunks, NUL-terminated, for llama.cpp.
  python3 - "$db" "$WORK/chunks.bin" "$LLAMA_CHUNKS" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
limit = int(sys.argv[3]) if sys.argv[3] else -1
with open(sys.argv[2], "wb") as f:
    for (text,) in con.execute("SELECT text FROM chunks ORDER BY id LIMIT ?", (limit,)):
        f.write(text.encode() + b"\0")
EOF
  local n_chunks n_llama
  n_chunks=$(sqlite3_count "$db")
  n_llama=$(tr -cd '\0' <"$WORK/chunks.bin" | wc -c)
  "$ROOT/scripts/reference/build_llama_tool.sh" "$ROOT/bench/llama_embed.c" "$WORK/llama_embed" -lm >/dev/null
  local llama
  llama=$("$WORK/llama_embed" -m "$model" --texts "$WORK/chunks.bin" -t "$THREADS" -b "$LLAMA_BATCH")
  awk -v n="$n_chunks" -v nl="$n_llama" -v t0="$t0" -v t1="$t1" -v llama="$llama" -v type="$TYPE" -v th="$THREADS" 'BEGIN {
    split(llama, f, " ");
    tl = n / (t1 - t0); ll = f[8];
    printf "index throughput: all-MiniLM-L6-v2 shape (%s, random weights), %d chunks (llama.cpp: the first %d, %s tokens), %d threads\n", type, n, nl, f[4], th;
    printf "%-44s %10s %10s\n", "", "seconds", "chunks/s";
    printf "%-44s %10.1f %10.1f\n", "tinyllm index (end to end)", t1 - t0, tl;
    printf "%-44s %10.1f %10.1f\n", sprintf("llama.cpp embedding (decode only, %d chunks)", nl), f[6], ll;
    printf "tinyllm / llama.cpp: %.2fx (goal >= 3x)\n", tl / ll;
  }'
}

search_bench() {
  local faiss_ok=1
  [ -f /usr/include/faiss/IndexFlat.h ] && [ -f /usr/lib/x86_64-linux-gnu/libfaiss.a ] || faiss_ok=0
  local inc="-I$ROOT/include -I$ROOT/src -I$ROOT/src/search"
  # shellcheck disable=SC2086
  gcc -std=c11 -O2 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $inc -o "$WORK/search_bench" \
    "$ROOT/bench/search_bench.c" "$BUILD/libtinyllm_search.a" "$BUILD/libtinyllm.a" \
    $(pkg-config --libs sqlite3 libcrypto) -lpthread -lm
  if [ $faiss_ok = 1 ]; then
    g++ -O2 -fopenmp -o "$WORK/faiss_bench" "$ROOT/bench/faiss_bench.cpp" -l:libfaiss.a -lblas -llapack -lgomp
  else
    echo "$NAME: FAISS is not installed (apt-get install libfaiss-dev): its column is left out" >&2
  fi
  printf "search latency: 384-dim vectors, k = 10, %s threads, median (and fastest) of %s queries (ms)\n" "$THREADS" "$QUERIES"
  printf "%-10s %-8s %18s %18s %7s %16s %10s\n" vectors type tinyllm faiss ratio "rss_MB (anon)" recall@10
  for n in $SIZES; do
    local out
    out=$("$WORK/search_bench" --dir "$WORK" --count "$n" --queries "$QUERIES" --recall-queries "$RECALL_QUERIES" \
      --threads "$THREADS")
    local f32 i8 best32 best8 rss32 rss8 anon32 anon8 recall faiss="nan nan"
    read -r _ f32 rss32 anon32 best32 < <(grep '^f32 ' <<<"$out")
    read -r _ i8 rss8 anon8 best8 < <(grep '^i8 ' <<<"$out")
    recall=$(awk '/^recall /{print $2}' <<<"$out")
    if [ $faiss_ok = 1 ]; then
      faiss=$(OMP_NUM_THREADS=$THREADS "$WORK/faiss_bench" "$WORK/bench-f32.db.vectors" "$WORK/queries.f32" "$QUERIES")
    fi
    local row='BEGIN { split(faiss, f, " ");
      printf "%-10d %-8s %8.2f (%7.2f) %8.2f (%7.2f) %7s %9.0f (%4.0f) %10s\n", n, type, a, best, f[1], f[2],
        (f[1] == "nan" ? "-" : sprintf("%.2fx", f[1] / a)), rss, anon, r }'
    awk -v n="$n" -v type=float32 -v a="$f32" -v best="$best32" -v faiss="$faiss" -v rss="$rss32" -v anon="$anon32" \
      -v r="" "$row"
    awk -v n="$n" -v type=int8 -v a="$i8" -v best="$best8" -v faiss="$faiss" -v rss="$rss8" -v anon="$anon8" \
      -v r="$(printf %.4f "$recall")" "$row"
    rm -f "$WORK"/bench-*.db* "$WORK/queries.f32"
  done
  echo "rss: the search process after the timed queries, mapped sidecar pages included; anon: its own memory."
  echo "float32: one pass over the int8 companion (FILE.vectors.i8), then float32 for the rows that can reach the top k."
  echo "ratio: FAISS's time / tinyllm's (> 1: tinyllm faster; int8 rows against FAISS's float32 IndexFlatIP)."
  echo "goals at 1M: float32 <= 40 ms, int8 <= 12 ms, >= 1.0x FAISS; recall@10 >= 0.98"
}

if [ "$WHAT" = index ] || [ "$WHAT" = all ]; then index_bench; fi
if [ "$WHAT" = search ] || [ "$WHAT" = all ]; then search_bench; fi

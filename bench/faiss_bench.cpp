// faiss_bench.cpp: FAISS's side of bench/search.sh's search latency. Reads the float32 vectors of a tinyllm vector
// sidecar (FILE.vectors: a 64-byte header "TLSVEC1", type, dim, count, then count * dim floats), adds them to an
// exact IndexFlatIP (FAISS keeps its own copy), and times Q single queries (k = 10) read from QUERIES (raw floats,
// written by bench/search_bench.c), each search() call timed on its own as a search request is. Threads: OpenMP's
// (OMP_NUM_THREADS). Prints the median and the fastest, in milliseconds.
//
//   faiss_bench SIDECAR QUERIES Q
//
// Built by bench/search.sh with g++ against Debian's libfaiss-dev (static libfaiss.a, BLAS, OpenMP): a benchmark-only
// dependency.
#include <faiss/IndexFlat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static void die(const char *what, const char *detail) {
    std::fprintf(stderr, "faiss_bench: %s %s\n", what, detail);
    std::exit(1);
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage:", "faiss_bench SIDECAR QUERIES Q");
    const int n_queries = std::atoi(argv[3]);
    FILE *f = std::fopen(argv[1], "rb");
    if (!f) die("cannot open", argv[1]);
    char header[64];
    if (std::fread(header, 1, 64, f) != 64 || std::memcmp(header, "TLSVEC1", 8) != 0) die("not a sidecar:", argv[1]);
    uint32_t type, dim;
    int64_t count;
    std::memcpy(&type, header + 8, 4);
    std::memcpy(&dim, header + 12, 4);
    std::memcpy(&count, header + 16, 8);
    if (type != 0) die("not float32 vectors:", argv[1]);
    faiss::IndexFlatIP index(dim);
    std::vector<float> block((size_t)65536 * dim);
    for (int64_t done = 0; done < count;) {
        const int64_t n = std::min<int64_t>(65536, count - done);
        if (std::fread(block.data(), sizeof(float) * dim, (size_t)n, f) != (size_t)n) die("short read:", argv[1]);
        index.add(n, block.data());
        done += n;
    }
    std::fclose(f);
    std::vector<float> queries((size_t)n_queries * dim);
    FILE *q = std::fopen(argv[2], "rb");
    if (!q || std::fread(queries.data(), sizeof(float) * dim, (size_t)n_queries, q) != (size_t)n_queries)
        die("cannot read the queries in", argv[2]);
    std::fclose(q);
    float distances[10];
    faiss::Index::idx_t labels[10];
    index.search(1, queries.data(), 10, distances, labels);  // warm-up
    std::vector<double> ms;
    for (int i = 0; i < n_queries; i++) {
        const auto t0 = std::chrono::steady_clock::now();
        index.search(1, queries.data() + (size_t)i * dim, 10, distances, labels);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%.3f %.3f\n", ms[ms.size() / 2], ms[0]);
    return 0;
}

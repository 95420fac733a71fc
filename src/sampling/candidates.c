/*
 * candidates.c — partial selection and sorting of sampling candidates.
 *
 * Small k (top-k) is selected with a k-entry heap in one pass; larger k with
 * a quickselect (median-of-three pivot, Lomuto partition) that falls back to
 * a full sort of the remaining range if it keeps picking bad pivots, so the
 * worst case stays O(n log n). The mass-based selection behind top-p first
 * narrows a large array down with a logit histogram, then runs the same
 * quickselect steered by the weight on each side of the pivot.
 */
#include "sampling/candidates.h"

#include <stdbool.h>
#include <stdlib.h>

/* True if a ranks before b: higher logit, then lower id. */
static bool ranks_before(const tl_candidate *a, const tl_candidate *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int compare_candidates(const void *pa, const void *pb) {
    const tl_candidate *a = pa;
    const tl_candidate *b = pb;
    if (ranks_before(a, b)) {
        return -1;
    }
    return ranks_before(b, a) ? 1 : 0;
}

static void swap_candidates(tl_candidate *a, tl_candidate *b) {
    tl_candidate t = *a;
    *a = *b;
    *b = t;
}

static void insertion_sort(tl_candidate *c, size_t n) {
    for (size_t i = 1; i < n; i++) {
        tl_candidate item = c[i];
        size_t j = i;
        while (j > 0 && ranks_before(&item, &c[j - 1])) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = item;
    }
}

void tl_candidates_sort(tl_candidate *c, size_t n) {
    if (n <= 16) {
        insertion_sort(c, n);
    } else {
        qsort(c, n, sizeof *c, compare_candidates);
    }
}

/* Restore the heap below i in c[0..k), a heap whose root is its worst
 * candidate. */
static void sift_down_worst_first(tl_candidate *c, size_t k, size_t i) {
    for (;;) {
        size_t worst = i;
        const size_t left = 2 * i + 1;
        const size_t right = left + 1;
        if (left < k && ranks_before(&c[worst], &c[left])) {
            worst = left;
        }
        if (right < k && ranks_before(&c[worst], &c[right])) {
            worst = right;
        }
        if (worst == i) {
            return;
        }
        swap_candidates(&c[i], &c[worst]);
        i = worst;
    }
}

/* One pass keeping the k best seen so far in a heap at c[0..k); most
 * candidates cost a single comparison against the heap's worst. */
static void select_best_with_heap(tl_candidate *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) {
        sift_down_worst_first(c, k, i);
    }
    for (size_t i = k; i < n; i++) {
        if (ranks_before(&c[i], &c[0])) {
            swap_candidates(&c[i], &c[0]);
            sift_down_worst_first(c, k, 0);
        }
    }
}

/* Put the median of c[lo], c[mid], c[hi] at c[hi] (the pivot slot). */
static void median_of_three_to_end(tl_candidate *c, size_t lo, size_t hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ranks_before(&c[mid], &c[lo])) {
        swap_candidates(&c[mid], &c[lo]);
    }
    if (ranks_before(&c[hi], &c[lo])) {
        swap_candidates(&c[hi], &c[lo]);
    }
    if (ranks_before(&c[hi], &c[mid])) {
        swap_candidates(&c[hi], &c[mid]);
    }
    /* now c[lo], c[mid], c[hi] are in rank order: the median is c[mid] */
    swap_candidates(&c[mid], &c[hi]);
}

/* Partition c[lo..hi) around a median-of-three pivot. Returns the pivot's
 * final index p: c[lo..p) rank before it, c[p+1..hi) after. *mass_before
 * gets the total weight of c[lo..p). */
static size_t partition_around_pivot(tl_candidate *c, size_t lo, size_t hi, double *mass_before) {
    median_of_three_to_end(c, lo, hi - 1);
    const tl_candidate pivot = c[hi - 1];
    double mass = 0.0;
    size_t store = lo;
    for (size_t i = lo; i < hi - 1; i++) {
        if (ranks_before(&c[i], &pivot)) {
            mass += c[i].weight;
            swap_candidates(&c[i], &c[store]);
            store++;
        }
    }
    swap_candidates(&c[store], &c[hi - 1]);
    *mass_before = mass;
    return store;
}

/* How many unlucky partitions to allow before sorting instead: ~2 log2 n. */
static int bad_pivot_budget(size_t n) {
    int budget = 4;
    for (size_t m = n; m > 1; m >>= 1) {
        budget += 2;
    }
    return budget;
}

void tl_candidates_select_best(tl_candidate *c, size_t n, size_t k) {
    if (k == 0 || k >= n) {
        return;
    }
    if (k <= 512 && k <= n / 8) {
        select_best_with_heap(c, n, k);
        return;
    }
    size_t lo = 0;
    size_t hi = n; /* exclusive; the boundary k lies in [lo, hi] */
    int budget = bad_pivot_budget(n);
    while (hi - lo > 16) {
        if (budget-- == 0) {
            tl_candidates_sort(c + lo, hi - lo);
            return;
        }
        double unused_mass;
        const size_t p = partition_around_pivot(c, lo, hi, &unused_mass);
        if (p == k || p + 1 == k) {
            return;
        }
        if (p > k) {
            hi = p;
        } else {
            lo = p + 1;
        }
    }
    insertion_sort(c + lo, hi - lo);
}

/* Mass-steered quickselect on c[lo..n): see select_best_by_mass. */
static size_t quickselect_by_mass(tl_candidate *c, size_t n, double target_mass) {
    size_t lo = 0;
    size_t hi = n;              /* the answer lies in [lo + 1, hi] */
    double mass_above_lo = 0.0; /* weight of c[0..lo), all ranking before c[lo..) */
    int budget = bad_pivot_budget(n);
    while (hi - lo > 16 && budget > 0) {
        budget--;
        double mass_before;
        const size_t p = partition_around_pivot(c, lo, hi, &mass_before);
        if (mass_above_lo + mass_before >= target_mass && p > lo) {
            hi = p; /* reached before the pivot */
        } else if (mass_above_lo + mass_before + c[p].weight >= target_mass) {
            return p + 1; /* the pivot is the last one needed */
        } else {
            mass_above_lo += mass_before + c[p].weight;
            lo = p + 1;
        }
    }
    /* Few left (or bad pivots): sort them and walk down to the target. */
    tl_candidates_sort(c + lo, hi - lo);
    for (size_t i = lo; i < hi; i++) {
        mass_above_lo += c[i].weight;
        if (mass_above_lo >= target_mass) {
            return i + 1;
        }
    }
    return hi > 0 ? hi : 1; /* short only through rounding: keep them all */
}

enum { MASS_BUCKETS = 256 };

/* Bucket of a logit, 0 for the highest; never decreasing as logits fall, so
 * a lower bucket ranks entirely before a higher one. */
static int logit_bucket(float logit, float max_logit, float scale) {
    const float x = (max_logit - logit) * scale;
    return x < (float)(MASS_BUCKETS - 1) ? (int)x : MASS_BUCKETS - 1;
}

/* Move the candidates of the buckets in [first, last] to c[0..), keeping
 * the rest after them; returns how many moved. */
static size_t partition_buckets(tl_candidate *c, size_t n, float max_logit, float scale, int first, int last) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const int b = logit_bucket(c[i].logit, max_logit, scale);
        if (b >= first && b <= last) {
            swap_candidates(&c[i], &c[kept]);
            kept++;
        }
    }
    return kept;
}

size_t tl_candidates_select_best_by_mass(tl_candidate *c, size_t n, double target_mass) {
    if (n <= 1024) {
        return quickselect_by_mass(c, n, target_mass);
    }
    /* Large arrays: a logit histogram finds the bucket where the mass runs
     * out; only that bucket needs the (branchy) quickselect. */
    float max_logit = c[0].logit, min_logit = c[0].logit;
    for (size_t i = 1; i < n; i++) {
        max_logit = c[i].logit > max_logit ? c[i].logit : max_logit;
        min_logit = c[i].logit < min_logit ? c[i].logit : min_logit;
    }
    const float range = max_logit - min_logit;
    if (!(range > 1e-30f) || !(range < 1e30f)) { /* keep scale and bucket math finite */
        return quickselect_by_mass(c, n, target_mass);
    }
    const float scale = (float)MASS_BUCKETS / range;
    double bucket_mass[MASS_BUCKETS] = {0};
    for (size_t i = 0; i < n; i++) {
        bucket_mass[logit_bucket(c[i].logit, max_logit, scale)] += c[i].weight;
    }
    double mass_before = 0.0;
    int boundary = 0;
    while (boundary < MASS_BUCKETS - 1 && mass_before + bucket_mass[boundary] < target_mass) {
        mass_before += bucket_mass[boundary];
        boundary++;
    }
    const size_t n_before = boundary > 0 ? partition_buckets(c, n, max_logit, scale, 0, boundary - 1) : 0;
    const size_t n_boundary = partition_buckets(c + n_before, n - n_before, max_logit, scale, boundary, boundary);
    if (n_boundary == 0) {
        return n_before > 0 ? n_before : 1; /* short only through rounding */
    }
    return n_before + quickselect_by_mass(c + n_before, n_boundary, target_mass - mass_before);
}

size_t tl_candidates_partition_at_least(tl_candidate *c, size_t n, float threshold) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].logit >= threshold) {
            swap_candidates(&c[i], &c[kept]);
            kept++;
        }
    }
    return kept;
}

/*
 * platform.c — clock and CPU topology queries used by the library and CLI.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tinyllm.h"

double tl_time_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Physical cores = distinct (physical id, core id) pairs in /proc/cpuinfo;
 * falls back to the online logical CPU count. */
int tl_physical_cores(void) {
    FILE *fp = fopen("/proc/cpuinfo", "r");
    int pairs[1024][2];
    int n_pairs = 0, phys = 0;
    if (fp) {
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            int v;
            if (sscanf(line, "physical id : %d", &v) == 1)
                phys = v;
            else if (sscanf(line, "core id : %d", &v) == 1) {
                int seen = 0;
                for (int i = 0; i < n_pairs; i++)
                    if (pairs[i][0] == phys && pairs[i][1] == v) seen = 1;
                if (!seen && n_pairs < 1024) {
                    pairs[n_pairs][0] = phys;
                    pairs[n_pairs][1] = v;
                    n_pairs++;
                }
            }
        }
        fclose(fp);
    }
    if (n_pairs > 0) return n_pairs;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

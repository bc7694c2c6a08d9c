/* Helpers shared by the broker benchmark's load generators: a monotonic clock and percentiles. */
#ifndef BERTH_BENCH_UTIL_H
#define BERTH_BENCH_UTIL_H
#include <stdlib.h>
#include <time.h>

static inline double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Sorts v in place; returns the q-quantile (nearest rank), or -1 when empty. */
static inline double quantile(double *v, size_t n, double q) {
  if (n == 0) return -1;
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(q * (double)n);
  if (i >= n) i = n - 1;
  return v[i];
}
#endif

/* The machine's own acks=-1 latency at a given pace, for the storage benchmark's paced rows: group commit in C.
 *
 *   group-commit FILE SIZE MIBPS SECONDS [PREALLOC]      (PREALLOC, or else GC_PREALLOC: full|chunks|none)
 *
 * A writer thread sleeps until each append's scheduled time (clock_nanosleep, absolute) and pwrite()s SIZE bytes
 * at the end of FILE (preallocated as PREALLOC says: the storage benchmark passes what Berth's logs do); a syncer thread, woken through a condition variable,
 * fdatasync()s whenever writes are done that no fdatasync covers yet, and acknowledges all of them at once. That is
 * the group commit Berth does, with the least machinery around it: one hand-off to the syncer and none back.
 * Prints JSON: latency from the pwrite call to the covering fdatasync's end ("call"), and from the scheduled time
 * ("scheduled"), p50 / p99 / max in ms, the number of fdatasyncs and the appends done.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"

static int fd;
static long total;
static double *scheduled_us, *called_us, *acked_us;
static long written;  /* appends whose pwrite is done; guarded by mu */
static int finished;  /* the writer is done; guarded by mu */
static long syncs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;

static void *syncer(void *arg) {
  (void)arg;
  long acked = 0;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (written == acked && !finished) pthread_cond_wait(&more, &mu);
    long upto = written;
    pthread_mutex_unlock(&mu);
    if (upto == acked) break; /* finished, and everything is acknowledged */
    if (fdatasync(fd) != 0) {
      perror("fdatasync");
      exit(1);
    }
    syncs++;
    double t = now_us();
    for (long i = acked; i < upto; i++) acked_us[i] = t;
    acked = upto;
  }
  return 0;
}

static void print_ms(const char *name, double *v, long n) {
  printf(",\"%sP50\":%.3f,\"%sP99\":%.3f,\"%sMax\":%.3f", name, quantile(v, (size_t)n, 0.5) / 1e3, name,
         quantile(v, (size_t)n, 0.99) / 1e3, name, quantile(v, (size_t)n, 1.0) / 1e3);
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: group-commit FILE SIZE MIBPS SECONDS [full|chunks|none]\n");
    return 2;
  }
  size_t size = (size_t)atol(argv[2]);
  double mibps = atof(argv[3]), seconds = atof(argv[4]);
  double interval_ns = (double)size / (mibps * 1048576.0) * 1e9;
  total = (long)(seconds * 1e9 / interval_ns);
  if (size == 0 || total < 1) {
    fprintf(stderr, "nothing to do\n");
    return 2;
  }
  fd = open(argv[1], O_CREAT | O_TRUNC | O_RDWR, 0644);
  /* full (the default: one fallocate of the whole file), chunks (16 MiB doubling to 128 MiB, as Berth's
   * segments), none (appends extend the file, as Berth's do where it does not preallocate). */
  const char *prealloc = argc == 6 ? argv[5] : getenv("GC_PREALLOC");
  if (prealloc && strcmp(prealloc, "full") && strcmp(prealloc, "chunks") && strcmp(prealloc, "none")) {
    fprintf(stderr, "PREALLOC must be full, chunks or none\n");
    return 2;
  }
  int rc = 0;
  if (fd >= 0 && (!prealloc || !strcmp(prealloc, "full"))) {
    rc = fallocate(fd, 0, 0, (off_t)(size * (size_t)total));
  } else if (fd >= 0 && !strcmp(prealloc, "chunks")) {
    off_t at = 0, chunk = 16 << 20, want = (off_t)(size * (size_t)total);
    while (at < want && rc == 0) {
      rc = fallocate(fd, 0, at, chunk);
      at += chunk;
      if (chunk < (128 << 20)) chunk *= 2;
    }
  }
  if (fd < 0 || rc != 0) {
    perror(argv[1]);
    return 1;
  }
  char *buf = malloc(size);
  memset(buf, 0x62, size);
  scheduled_us = calloc((size_t)total, sizeof(double));
  called_us = calloc((size_t)total, sizeof(double));
  acked_us = calloc((size_t)total, sizeof(double));
  pthread_t th;
  if (pthread_create(&th, 0, syncer, 0) != 0) {
    perror("pthread_create");
    return 1;
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int64_t start_ns = (int64_t)start.tv_sec * 1000000000 + start.tv_nsec + 2000000;
  for (long i = 0; i < total; i++) {
    int64_t due = start_ns + (int64_t)((double)i * interval_ns);
    struct timespec at = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, 0) != 0) {
    }
    scheduled_us[i] = (double)due / 1e3;
    called_us[i] = now_us();
    if (pwrite(fd, buf, size, (off_t)(size * (size_t)i)) != (ssize_t)size) {
      perror("pwrite");
      return 1;
    }
    pthread_mutex_lock(&mu);
    written = i + 1;
    pthread_cond_signal(&more);
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  finished = 1;
  pthread_cond_signal(&more);
  pthread_mutex_unlock(&mu);
  pthread_join(th, 0);
  for (long i = 0; i < total; i++) {
    called_us[i] = acked_us[i] - called_us[i];
    scheduled_us[i] = acked_us[i] - scheduled_us[i];
  }
  printf("{\"appends\":%ld,\"fdatasyncs\":%ld", total, syncs);
  print_ms("call", called_us, total);
  print_ms("scheduled", scheduled_us, total);
  printf("}\n");
  close(fd);
  unlink(argv[1]);
  return 0;
}

/* A minimal Kafka producer for measuring a broker's produce path alone: one connection, the same ready-made Produce
 * request frame (built by the caller, Produce v3-v8, one topic and partition) sent COUNT times with up to INFLIGHT
 * requests outstanding, each response read and its partition error code checked. The client costs close to nothing
 * (no encoding, no CRC, no copies of its own), so the figure is the broker's. Prints one JSON line: request bytes
 * per second from the first send to the last response, responses, errors, and this process's CPU seconds per GiB.
 * Paced mode (RATE > 0, requests per second): open loop. A sender thread sleeps until each request's scheduled
 * time (clock_nanosleep, TIMER_ABSTIME, 1 ns timer slack: no spinning) and sends it, whatever is outstanding
 * (requests stay pipelined); the main thread reads the responses, which come back in order. It adds each Produce's
 * latency from its scheduled time (open loop: the sender's lateness and any queue count), from the start of its
 * send, and the sender's lateness, as p50/p99/max in milliseconds.
 * Usage: produce-blast HOST PORT FRAME_FILE COUNT [INFLIGHT=8] [RATE=0] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench-util.h"
#include "kafka-wire.h"


/* The error code of the first partition of the first topic of a non-flexible Produce response body. */
static int partition_error(const uint8_t *body, size_t len) {
  /* correlation id, topics count, topic name, partitions count, partition index, error code */
  if (len < 4 + 4 + 2) return -1;
  size_t name = (size_t)get16(body + 8);
  size_t at = 10 + name + 4 + 4;
  if (len < at + 2) return -1;
  return get16(body + at);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Paced mode's shared state: request i is due at start_ns + i * interval_ns; send_ns[i] is when its send began. */
struct pacer {
  int sock;
  const uint8_t *frame;
  size_t frame_len;
  long count;
  int64_t start_ns;
  double interval_ns;
  int64_t *send_ns;
  int failed;
};

static int64_t due_ns(const struct pacer *p, long i) { return p->start_ns + (int64_t)((double)i * p->interval_ns); }

static void *paced_sender(void *arg) {
  struct pacer *p = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  /* wake at the scheduled nanosecond, not up to 50 us after */
  for (long i = 0; i < p->count; i++) {
    int64_t due = due_ns(p, i);
    struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, 0) != 0) {
    }
    p->send_ns[i] = mono_ns();
    if (!write_full(p->sock, p->frame, p->frame_len)) {
      p->failed = 1;
      return 0;
    }
  }
  return 0;
}

static void print_ms(const char *name, double *v, long n) {
  double p50 = quantile(v, (size_t)n, 0.50), p99 = quantile(v, (size_t)n, 0.99);
  printf(",\"%sP50\":%.3f,\"%sP99\":%.3f,\"%sMax\":%.3f", name, p50, name, p99, name, n > 0 ? v[n - 1] : -1);
}

/* BERTH_BENCH_PACED_DUMP=FILE: every paced request's figures, appended to FILE for looking at when the slow ones
 * happened (one line per request: index, ms from send to response, sender lateness in ms, send time in ms of
 * CLOCK_MONOTONIC, which is what a broker's process.hrtime reads too), then a line "--" after each run. */
static void dump_paced(const struct pacer *pc, const double *fromSend, const double *lateness, long n) {
  const char *path = getenv("BERTH_BENCH_PACED_DUMP");
  if (!path) return;
  FILE *f = fopen(path, "a");
  if (!f) return;
  for (long i = 0; i < n; i++)
    fprintf(f, "%ld %.3f %.3f %.3f\n", i, fromSend[i], lateness[i], (double)pc->send_ns[i] / 1e6);
  fputs("--\n", f);
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: produce-blast HOST PORT FRAME_FILE COUNT [INFLIGHT]\n");
    return 2;
  }
  long count = strtol(argv[4], 0, 10);
  long inflight = argc > 5 ? strtol(argv[5], 0, 10) : 8;
  double rate = argc > 6 ? strtod(argv[6], 0) : 0;
  FILE *f = fopen(argv[3], "rb");
  if (!f) {
    perror("frame file");
    return 2;
  }
  fseek(f, 0, SEEK_END);
  long frameLen = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *frame = malloc((size_t)frameLen);
  if (fread(frame, 1, (size_t)frameLen, f) != (size_t)frameLen) {
    fprintf(stderr, "short frame file\n");
    return 2;
  }
  fclose(f);

  int s = dial_tcp(argv[1], atoi(argv[2]));
  uint8_t resp[4096];
  long sent = 0, received = 0, errors = 0;
  int firstError = 0;
  struct rusage r0, r1;
  struct pacer pc = {0};
  pthread_t sender;
  double *fromScheduled = 0, *fromSend = 0, *lateness = 0;
  if (rate > 0) {
    pc.sock = s;
    pc.frame = frame;
    pc.frame_len = (size_t)frameLen;
    pc.count = count;
    pc.interval_ns = 1e9 / rate;
    pc.send_ns = calloc((size_t)count, sizeof(int64_t));
    fromScheduled = calloc((size_t)count, sizeof(double));
    fromSend = calloc((size_t)count, sizeof(double));
    lateness = calloc((size_t)count, sizeof(double));
    pc.start_ns = mono_ns() + 2000000;
    sent = count;  /* the sender thread owns sending */
    if (pthread_create(&sender, 0, paced_sender, &pc) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now_us();
  while (received < count) {
    while (rate <= 0 && sent < count && sent - received < inflight) {
      if (!write_full(s, frame, (size_t)frameLen)) {
        perror("write");
        return 1;
      }
      sent++;
    }
    uint8_t size[4];
    if (!read_full(s, size, 4)) {
      fprintf(stderr, "connection closed after %ld responses\n", received);
      return 1;
    }
    size_t n = (size_t)get32(size);
    if (n > sizeof resp) {
      fprintf(stderr, "response of %zu bytes\n", n);
      return 1;
    }
    if (!read_full(s, resp, n)) return 1;
    if (rate > 0) {
      int64_t at = mono_ns();
      int64_t due = due_ns(&pc, received);
      fromScheduled[received] = (double)(at - due) / 1e6;
      fromSend[received] = (double)(at - pc.send_ns[received]) / 1e6;
      lateness[received] = (double)(pc.send_ns[received] - due) / 1e6;
    }
    int err = partition_error(resp, n);
    if (err != 0) {
      errors++;
      if (!firstError) firstError = err;
    }
    received++;
  }
  double seconds = (now_us() - t0) / 1e6;
  getrusage(RUSAGE_SELF, &r1);
  if (rate > 0) {
    pthread_join(sender, 0);
    if (pc.failed) {
      perror("write");
      return 1;
    }
  }
  double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
               (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
  double bytes = (double)frameLen * (double)count;
  printf("{\"mbps\":%.1f,\"responses\":%ld,\"errors\":%ld,\"firstError\":%d,\"seconds\":%.3f,\"cpuSecPerGiB\":%.3f",
         bytes / seconds / 1e6, received, errors, firstError, seconds, cpu / (bytes / 1073741824.0));
  if (rate > 0) {
    dump_paced(&pc, fromSend, lateness, received);
    print_ms("fromScheduled", fromScheduled, received);
    print_ms("fromSend", fromSend, received);
    print_ms("lateness", lateness, received);
  }
  printf("}\n");
  close(s);
  return errors > 0;
}

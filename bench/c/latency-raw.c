/* End-to-end latency through the broker alone, with minimal clients: one connection sends `rate` Produce requests
 * per second (acks=1, one batch of one record each, built once and only restamped: sequence number, send time and
 * CRC), another long-polls Fetch v4 (fetch.wait.max.ms FETCH_WAIT_MS, one in flight) from offset 0 of a fresh topic
 * and reads each record's send time back. Both use the same monotonic clock. No client library sits in between, so
 * the figure is the broker's path plus the kernel's loopback, not a client's batching or threads. The first half
 * second is warm-up and not counted. Prints one JSON line with p50/p99/max in ms.
 * Usage: latency-raw HOST PORT TOPIC RATE SECONDS [SIZE=100] [FETCH_WAIT_MS=100] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "bench-util.h"
#include "kafka-wire.h"

static const char *host, *topic;
static int port, fetch_wait = 100;
static size_t total, warmup, size;
static double *lat;
static volatile size_t received, counted, acked, produce_errors;
static uint8_t frame[1 << 16];
static size_t frame_len, batch_at, batch_len, value_at;

static size_t varint_len(int32_t v) {
  uint8_t tmp[8];
  return (size_t)(put_varint(tmp, v) - tmp);
}

/* A Produce v7 frame (acks=1) for partition 0 of `topic`: one batch holding one record of `size` bytes. */
static void build_frame(void) {
  size_t tl = strlen(topic);
  size_t body = 1 + 1 + 1 + 1 + varint_len((int32_t)size) + size + 1; /* attrs, ts, offset, key, value, headers */
  batch_len = 61 + varint_len((int32_t)body) + body;
  uint8_t *p = frame + 4;
  p = put16(p, 0); p = put16(p, 7); p = put32(p, 1); p = put16(p, 3); memcpy(p, "lat", 3); p += 3;
  p = put16(p, -1); p = put16(p, 1); p = put32(p, 30000);
  p = put32(p, 1); p = put16(p, (int)tl); memcpy(p, topic, tl); p += tl;
  p = put32(p, 1); p = put32(p, 0); p = put32(p, (int32_t)batch_len);
  batch_at = (size_t)(p - frame);
  int64_t ms = (int64_t)time(0) * 1000;
  p = put64(p, 0); p = put32(p, (int32_t)batch_len - 12); p = put32(p, -1); *p++ = 2; p = put32(p, 0);
  p = put16(p, 0); p = put32(p, 0); p = put64(p, ms); p = put64(p, ms);
  p = put64(p, -1); p = put16(p, -1); p = put32(p, -1); p = put32(p, 1);
  p = put_varint(p, (int32_t)body); *p++ = 0; p = put_varint(p, 0); p = put_varint(p, 0); p = put_varint(p, -1);
  p = put_varint(p, (int32_t)size);
  value_at = (size_t)(p - frame);
  memset(p, 0, size); p += size;
  p = put_varint(p, 0);
  frame_len = (size_t)(p - frame);
  put32(frame, (int32_t)(frame_len - 4));
}

/* Reads produce responses and checks the partition's error code. */
static void *read_acks(void *arg) {
  int s = *(int *)arg;
  uint8_t buf[4096];
  while (acked < total) {
    uint8_t len[4];
    if (!read_full(s, len, 4)) break;
    size_t n = (size_t)get32(len);
    if (n > sizeof buf || !read_full(s, buf, n)) break;
    /* corr, topics, name, partitions, index, error */
    size_t at = 10 + (size_t)get16(buf + 8) + 8;
    if (n < at + 2 || get16(buf + at) != 0) produce_errors++;
    acked++;
  }
  return 0;
}

static void *consume(void *arg) {
  (void)arg;
  int s = dial_tcp(host, port);
  size_t cap = 2 << 20, tl = strlen(topic);
  uint8_t *res = malloc(cap), req[512];
  int64_t offset = 0;
  double deadline = now_us() + 120e6;
  for (int32_t corr = 1; received < total && now_us() < deadline; corr++) {
    uint8_t *p = req + 4;
    p = put16(p, 1); p = put16(p, 4); p = put32(p, corr); p = put16(p, 3); memcpy(p, "lat", 3); p += 3;
    p = put32(p, -1); p = put32(p, fetch_wait); p = put32(p, 1); p = put32(p, 1 << 20); *p++ = 0;
    p = put32(p, 1); p = put16(p, (int)tl); memcpy(p, topic, tl); p += tl;
    p = put32(p, 1); p = put32(p, 0); p = put64(p, offset); p = put32(p, 1 << 20);
    put32(req, (int32_t)(p - req - 4));
    if (!write_full(s, req, (size_t)(p - req))) break;
    uint8_t len[4];
    if (!read_full(s, len, 4)) break;
    size_t n = (size_t)get32(len);
    if (n > cap || !read_full(s, res, n)) break;
    double at = now_us();
    /* corr, throttle, [topic: name, [partition, error, hw, lso, aborted[], records]] */
    const uint8_t *q = res + 8;
    q += 4; q += 2 + get16(q); q += 4; q += 4;
    if (get16(q) != 0) {
      fprintf(stderr, "fetch error %d\n", get16(q));
      break;
    }
    q += 2 + 16;
    int32_t aborted = get32(q); q += 4;
    if (aborted > 0) q += (size_t)aborted * 16;
    int32_t rl = get32(q); q += 4;
    const uint8_t *r = q, *rend = q + (rl > 0 ? rl : 0);
    while (rend - r >= 61) {
      int32_t bl = get32(r + 8);
      if (rend - r < 12 + (long)bl) break;
      if ((size_t)(12 + bl) == batch_len) {
        uint64_t seq;
        double sent;
        memcpy(&seq, r + (value_at - batch_at), 8);
        memcpy(&sent, r + (value_at - batch_at) + 8, 8);
        if (seq >= warmup && counted < total) lat[counted++] = at - sent;
        received++;
      }
      offset = get64(r) + get32(r + 23) + 1;
      r += 12 + bl;
    }
  }
  free(res);
  close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: latency-raw HOST PORT TOPIC RATE SECONDS [SIZE] [FETCH_WAIT_MS]\n");
    return 2;
  }
  host = argv[1];
  port = atoi(argv[2]);
  topic = argv[3];
  double rate = strtod(argv[4], 0), seconds = strtod(argv[5], 0);
  size = argc > 6 ? strtoul(argv[6], 0, 10) : 100;
  if (size < 16) size = 16;
  if (size > 60000) size = 60000;
  if (argc > 7) fetch_wait = atoi(argv[7]);
  total = (size_t)(rate * (seconds + 0.5));
  warmup = (size_t)(rate * 0.5);
  lat = malloc(total * sizeof *lat);
  build_frame();
  int ps = dial_tcp(host, port);
  pthread_t acks, cons;
  pthread_create(&acks, 0, read_acks, &ps);
  pthread_create(&cons, 0, consume, 0);
  double t0 = now_us();
  for (size_t i = 0; i < total;) {
    double due = t0 + (double)i * 1e6 / rate, now = now_us();
    if (now < due) {
      struct timespec ts = {0, (long)((due - now) * 1e3)};
      nanosleep(&ts, 0);
      continue;
    }
    uint64_t seq = i;
    double sent = now_us();
    memcpy(frame + value_at, &seq, 8);
    memcpy(frame + value_at + 8, &sent, 8);
    put32(frame + batch_at + 17, (int32_t)crc32c(frame + batch_at + 21, batch_len - 21));
    if (!write_full(ps, frame, frame_len)) {
      perror("produce");
      return 1;
    }
    i++;
  }
  pthread_join(cons, 0);
  pthread_join(acks, 0);
  size_t n = counted;
  double max = 0;
  for (size_t i = 0; i < n; i++)
    if (lat[i] > max) max = lat[i];
  double p50 = quantile(lat, n, 0.5) / 1e3, p99 = quantile(lat, n, 0.99) / 1e3;
  printf("{\"sent\":%zu,\"received\":%zu,\"counted\":%zu,\"produceErrors\":%zu,\"p50Ms\":%.3f,\"p99Ms\":%.3f,"
         "\"maxMs\":%.3f}\n",
         total, received, n, produce_errors, p50, p99, max / 1e3);
  close(ps);
  return received < total || produce_errors > 0;
}

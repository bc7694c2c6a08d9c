/* A minimal Kafka consumer for measuring a broker's fetch path alone: one connection, Fetch v4 requests for one
 * partition from offset 0, one in flight at a time, walking the log and wrapping to offset 0 at its end, for
 * `seconds`. It reads each response and looks only at batch headers (to find the next offset), so the client costs
 * close to nothing. Prints one JSON line: record bytes per second, fetches. Needs no library.
 * Usage: fetch-drain HOST PORT TOPIC [SECONDS=3] [PARTITION_MAX_BYTES=4194304] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench-util.h"
#include "kafka-wire.h"


int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: fetch-drain HOST PORT TOPIC [SECONDS] [PARTITION_MAX_BYTES]\n");
    return 2;
  }
  const char *topic = argv[3];
  double seconds = argc > 4 ? atof(argv[4]) : 3;
  int32_t partMax = argc > 5 ? (int32_t)strtol(argv[5], 0, 10) : 4 << 20;
  int s = dial_tcp(argv[1], atoi(argv[2]));
  size_t cap = (size_t)partMax + (16 << 20); /* a first batch larger than the limit is still returned whole */
  uint8_t *res = malloc(cap);
  uint8_t req[512];
  int64_t offset = 0;
  long long bytes = 0, fetches = 0, wraps = 0;
  double t0 = now_us(), end = t0 + seconds * 1e6;
  size_t tl = strlen(topic);
  for (int32_t corr = 1; now_us() < end; corr++) {
    uint8_t *p = req + 4;
    p = put16(p, 1); p = put16(p, 4); p = put32(p, corr); p = put16(p, 5); memcpy(p, "drain", 5); p += 5;
    p = put32(p, -1); p = put32(p, 0); p = put32(p, 1); p = put32(p, partMax); *p++ = 0;
    p = put32(p, 1); p = put16(p, (int)tl); memcpy(p, topic, tl); p += tl;
    p = put32(p, 1); p = put32(p, 0); p = put64(p, offset); p = put32(p, partMax);
    put32(req, (int32_t)(p - req - 4));
    if (write(s, req, (size_t)(p - req)) != p - req) { perror("write"); return 1; }
    uint8_t len[4];
    if (!read_full(s, len, 4)) { fprintf(stderr, "connection closed\n"); return 1; }
    size_t n = (size_t)get32(len);
    if (n > cap) { fprintf(stderr, "response of %zu bytes\n", n); return 1; }
    if (!read_full(s, res, n)) { fprintf(stderr, "connection closed\n"); return 1; }
    fetches++;
    /* corr, throttle, [topic: name, [partition, error, hw, lso, aborted[], records]] */
    const uint8_t *q = res + 8;
    q += 4; q += 2 + get16(q); q += 4; q += 4;
    int16_t err = get16(q); q += 2;
    if (err) { fprintf(stderr, "fetch error %d\n", err); return 1; }
    q += 16;
    int32_t aborted = get32(q); q += 4;
    if (aborted > 0) q += (size_t)aborted * 16;
    int32_t rl = get32(q); q += 4;
    const uint8_t *r = q, *rend = q + (rl > 0 ? rl : 0);
    int64_t next = offset;
    while (rend - r >= 61) {
      int32_t bl = get32(r + 8);
      if (rend - r < 12 + (long)bl) break;
      next = get64(r) + get32(r + 23) + 1;
      bytes += 12 + bl;
      r += 12 + bl;
    }
    if (next == offset) { offset = 0; wraps++; } else offset = next;
  }
  double secs = (now_us() - t0) / 1e6;
  printf("{\"mbps\":%.1f,\"fetches\":%lld,\"wraps\":%lld,\"bytes\":%lld}\n", bytes / secs / 1e6, fetches, wraps, bytes);
  return 0;
}

/* Connecting, big-endian field helpers, whole reads and writes, and CRC32C for the minimal Kafka clients of the
 * benchmarks (fetch-drain.c, produce-blast.c, latency-raw.c). */
#ifndef BERTH_KAFKA_WIRE_H
#define BERTH_KAFKA_WIRE_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TCP connection to host:port with Nagle off (every benchmark request goes out at once); exits on failure. */
static inline int dial_tcp(const char *host, int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) {
    perror("connect");
    exit(1);
  }
  return s;
}

static inline int read_full(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static inline int write_full(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r <= 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static inline uint8_t *put16(uint8_t *p, int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return p + 2; }
static inline uint8_t *put32(uint8_t *p, int32_t v) { uint32_t u = (uint32_t)v; for (int i = 3; i >= 0; i--) *p++ = (uint8_t)(u >> (i * 8)); return p; }
static inline uint8_t *put64(uint8_t *p, int64_t v) { uint64_t u = (uint64_t)v; for (int i = 7; i >= 0; i--) *p++ = (uint8_t)(u >> (i * 8)); return p; }
static inline int32_t get32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]); }
static inline int16_t get16(const uint8_t *p) { return (int16_t)(p[0] << 8 | p[1]); }
static inline int64_t get64(const uint8_t *p) { return (int64_t)((uint64_t)(uint32_t)get32(p) << 32 | (uint32_t)get32(p + 4)); }

/* A zigzag varint (record fields). */
static inline uint8_t *put_varint(uint8_t *p, int32_t v) {
  uint32_t u = ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
  while (u >= 0x80) {
    *p++ = (uint8_t)(u | 0x80);
    u >>= 7;
  }
  *p++ = (uint8_t)u;
  return p;
}

/* CRC32C (Castagnoli, reflected 0x82F63B78), one table, a byte at a time: fine for small batches. */
static inline uint32_t crc32c(const uint8_t *p, size_t n) {
  static uint32_t table[256];
  if (table[1] == 0) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
  }
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}
#endif

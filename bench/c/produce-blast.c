/* A minimal Kafka producer for measuring a broker's produce path alone: one connection, the same ready-made Produce
 * request frame (built by the caller, Produce v3-v8, one topic and partition) sent COUNT times with up to INFLIGHT
 * requests outstanding, each response read and its partition error code checked. The client costs close to nothing
 * (no encoding, no CRC, no copies of its own), so the figure is the broker's. Prints one JSON line: request bytes
 * per second from the first send to the last response, responses, errors, and this process's CPU seconds per GiB.
 * Usage: produce-blast HOST PORT FRAME_FILE COUNT [INFLIGHT=8] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: produce-blast HOST PORT FRAME_FILE COUNT [INFLIGHT]\n");
    return 2;
  }
  long count = strtol(argv[4], 0, 10);
  long inflight = argc > 5 ? strtol(argv[5], 0, 10) : 8;
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

  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) {
    perror("connect");
    return 1;
  }
  uint8_t resp[4096];
  long sent = 0, received = 0, errors = 0;
  int firstError = 0;
  struct rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  double t0 = now_us();
  while (received < count) {
    while (sent < count && sent - received < inflight) {
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
    int err = partition_error(resp, n);
    if (err != 0) {
      errors++;
      if (!firstError) firstError = err;
    }
    received++;
  }
  double seconds = (now_us() - t0) / 1e6;
  getrusage(RUSAGE_SELF, &r1);
  double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
               (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
  double bytes = (double)frameLen * (double)count;
  printf("{\"mbps\":%.1f,\"responses\":%ld,\"errors\":%ld,\"firstError\":%d,\"seconds\":%.3f,\"cpuSecPerGiB\":%.3f}\n",
         bytes / seconds / 1e6, received, errors, firstError, seconds, cpu / (bytes / 1073741824.0));
  close(s);
  return errors > 0;
}

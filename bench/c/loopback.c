/* This machine's loopback TCP limits. Throughput: a child process writes `mib` MiB in 1 MiB writes to a socket on
 * 127.0.0.1 and the parent reads and discards it; prints MB/s from accept to end of stream. Round trip ("rtt"): the
 * parent sends 100 bytes, the child echoes them, `count` times; prints p50/p99 in ms. One JSON line either way.
 * Usage: loopback [MIB=1024] | loopback rtt [COUNT=10000] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench-util.h"
#include "kafka-wire.h"

#define CHUNK (1 << 20)
#define PING 100

static int round_trips(int s, long count) {
  uint8_t msg[PING] = {0};
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  double *lat = malloc((size_t)count * sizeof *lat);
  for (long i = 0; i < count; i++) {
    double t = now_us();
    if (write(s, msg, PING) != PING || !read_full(s, msg, PING)) return 1;
    lat[i] = now_us() - t;
  }
  double p50 = quantile(lat, (size_t)count, 0.5) / 1e3, p99 = quantile(lat, (size_t)count, 0.99) / 1e3;
  printf("{\"count\":%ld,\"p50Ms\":%.4f,\"p99Ms\":%.4f}\n", count, p50, p99);
  return 0;
}

int main(int argc, char **argv) {
  int rtt = argc > 1 && !strcmp(argv[1], "rtt");
  long mib = argc > 1 && !rtt ? strtol(argv[1], 0, 10) : 1024;
  long count = rtt && argc > 2 ? strtol(argv[2], 0, 10) : 10000;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &al)) {
    perror("listen");
    return 1;
  }
  char *buf = malloc(CHUNK);
  for (int i = 0; i < CHUNK; i++) buf[i] = (char)i;
  pid_t pid = fork();
  if (pid == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) _exit(1);
    if (rtt) {
      int one = 1;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      uint8_t msg[PING];
      while (read_full(s, msg, PING))
        if (write(s, msg, PING) != PING) break;
      _exit(0);
    }
    for (long i = 0; i < mib; i++) {
      for (size_t off = 0; off < CHUNK;) {
        ssize_t w = write(s, buf + off, CHUNK - off);
        if (w <= 0) _exit(1);
        off += (size_t)w;
      }
    }
    close(s);
    _exit(0);
  }
  int c = accept(ls, 0, 0);
  if (rtt) {
    int rc = round_trips(c, count);
    close(c);
    waitpid(pid, 0, 0);
    return rc;
  }
  double t0 = now_us(), total = 0;
  for (;;) {
    ssize_t r = read(c, buf, CHUNK);
    if (r <= 0) break;
    total += (double)r;
  }
  double secs = (now_us() - t0) / 1e6;
  waitpid(pid, 0, 0);
  printf("{\"bytes\":%.0f,\"seconds\":%.4f,\"mbPerSec\":%.1f}\n", total, secs, total / 1e6 / secs);
  return 0;
}

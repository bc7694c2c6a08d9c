/* This machine's loopback TCP limit: a child process writes `mib` MiB in 1 MiB writes to a socket on 127.0.0.1 and
 * the parent reads and discards it. Prints one JSON line with MB/s, from accept to end of stream.
 * Usage: loopback [MIB=1024] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench-util.h"

#define CHUNK (1 << 20)

int main(int argc, char **argv) {
  long mib = argc > 1 ? strtol(argv[1], 0, 10) : 1024;
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

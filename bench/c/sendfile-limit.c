/* This machine's page-cache-to-socket limit: a C program sends one file, already in the page cache, to a loopback
 * TCP socket with sendfile(2) in `chunk`-byte calls (wrapping round the file) for `seconds`, while a child process
 * reads and discards. Prints one JSON line: MB/s and the sender's CPU seconds per GiB (what a zero-copy fetch path
 * can at best approach). Needs no library. Usage: sendfile-limit FILE [SECONDS=3] [CHUNK=1048576] */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench-util.h"

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sendfile-limit FILE [SECONDS] [CHUNK]\n");
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 3;
  long chunk = argc > 3 ? strtol(argv[3], 0, 10) : 1 << 20;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || st.st_size < chunk) {
    perror("open");
    return 1;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &al)) {
    perror("listen");
    return 1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) _exit(1);
    static char buf[1 << 20];
    while (read(s, buf, sizeof buf) > 0) {
    }
    _exit(0);
  }
  int s = accept(ls, 0, 0);
  double cpu0 = cpu_seconds(), t0 = now_us(), end = t0 + seconds * 1e6;
  long long sent = 0;
  off_t pos = 0;
  while (now_us() < end) {
    if (pos + chunk > st.st_size) pos = 0;
    off_t at = pos;
    long left = chunk;
    while (left > 0) {
      ssize_t n = sendfile(s, fd, &at, (size_t)left);
      if (n <= 0) {
        perror("sendfile");
        return 1;
      }
      left -= n;
      sent += n;
    }
    pos = at;
  }
  double secs = (now_us() - t0) / 1e6, cpu = cpu_seconds() - cpu0;
  close(s);
  waitpid(pid, 0, 0);
  printf("{\"mbps\":%.1f,\"cpuSecPerGiB\":%.3f,\"bytes\":%lld}\n", sent / secs / 1e6, cpu / (sent / 1073741824.0), sent);
  return 0;
}

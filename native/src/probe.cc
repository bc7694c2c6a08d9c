#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crc32c.h"
#include "errors.h"
#include "uring.h"

namespace berth {
namespace {

std::string ReadFirstLine(const char* path) {
  FILE* f = fopen(path, "re");
  if (f == nullptr) return "";
  char buf[64] = {0};
  if (fgets(buf, sizeof buf, f) == nullptr) buf[0] = '\0';
  fclose(f);
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A syscall exists (and is not filtered) when calling it with bad fds fails with EBADF rather than ENOSYS/EPERM.
bool SyscallAnswers(long nr) {
  long r;
  if (nr == __NR_sendfile) {
    r = syscall(nr, -1, -1, nullptr, 0);
  } else {
    r = syscall(nr, -1, nullptr, -1, nullptr, 0, 0);
  }
  return r == 0 || errno == EBADF || errno == EINVAL;
}

struct UringProbe {
  bool ok = false;
  bool registered_buffers = false;
  bool splice_op = false;
  std::string reason;
};

UringProbe ProbeUring() {
  UringProbe p;
  if (IoUringDisabledByEnv()) {
    p.reason = "disabled by BERTH_DISABLE_IO_URING";
    return p;
  }
  Uring q;
  const int r = q.Setup(4);
  if (r < 0) {
    p.reason = std::string("io_uring_setup: ") + ErrnoCode(-r) + " (" + strerror(-r) + ")";
    const std::string disabled = ReadFirstLine("/proc/sys/kernel/io_uring_disabled");
    if (!disabled.empty() && disabled != "0") p.reason += "; kernel.io_uring_disabled=" + disabled;
    return p;
  }
  std::vector<uint8_t> mem(sizeof(io_uring_probe) + 256 * sizeof(io_uring_probe_op), 0);
  auto* probe = reinterpret_cast<io_uring_probe*>(mem.data());
  auto supported = [&](int op) { return op <= probe->last_op && (probe->ops[op].flags & IO_URING_OP_SUPPORTED); };
  if (q.Register(IORING_REGISTER_PROBE, probe, 256) < 0) {
    p.reason = "IORING_REGISTER_PROBE unsupported (kernel older than 5.6)";
    return p;
  }
  if (!supported(IORING_OP_WRITE_FIXED) || !supported(IORING_OP_FSYNC) || !supported(IORING_OP_FALLOCATE)) {
    p.reason = "io_uring lacks WRITE_FIXED, FSYNC or FALLOCATE";
    return p;
  }
  p.ok = true;
  p.splice_op = supported(IORING_OP_SPLICE);
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED) {
    iovec iov{page, 4096};
    const int rr = q.Register(IORING_REGISTER_BUFFERS, &iov, 1);
    p.registered_buffers = rr >= 0;
    if (rr < 0) p.reason = std::string("IORING_REGISTER_BUFFERS: ") + ErrnoCode(-rr);
    q.Close();  // drops the registration before the page goes
    munmap(page, 4096);
  }
  return p;
}

}  // namespace

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const UringProbe u = ProbeUring();
  utsname uts{};
  uname(&uts);
  const bool splice_syscall = SyscallAnswers(__NR_splice);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ioUring", Napi::Boolean::New(env, u.ok));
  o.Set("registeredBuffers", Napi::Boolean::New(env, u.ok && u.registered_buffers));
  o.Set("splice", Napi::Boolean::New(env, splice_syscall && u.splice_op));
  o.Set("sendfile", Napi::Boolean::New(env, SyscallAnswers(__NR_sendfile)));
  o.Set("hardwareCrc32c", Napi::Boolean::New(env, HardwareCrc32c()));
  o.Set("crc32cPath", Napi::String::New(env, Crc32cPathName(Crc32cBestPath())));
  o.Set("kernel", Napi::String::New(env, uts.release));
  if (!u.reason.empty()) o.Set("reason", Napi::String::New(env, u.reason));
  return o;
}

}  // namespace berth

#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "errors.h"

namespace berth {
namespace {

bool ArgNonNeg(const Napi::Value& v, double max, double* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = d;
  return true;
}

struct Mapping {
  void* base;
  size_t length;
};

}  // namespace

// fallocateSync(fd, mode, offset, length): throws NativeError
Napi::Value FallocateSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double fd, mode, offset, length;
  if (!ArgNonNeg(info[0], 2147483647.0, &fd) || !ArgNonNeg(info[1], 2147483647.0, &mode) ||
      !ArgNonNeg(info[2], 9007199254740991.0, &offset) || !ArgNonNeg(info[3], 9007199254740991.0, &length)) {
    ThrowTypeError(env, "fallocateSync(fd, mode, offset, length)");
    return env.Undefined();
  }
  int r;
  do {
    r = fallocate(static_cast<int>(fd), static_cast<int>(mode), static_cast<off_t>(offset), static_cast<off_t>(length));
  } while (r != 0 && errno == EINTR);
  if (r != 0) ThrowNativeError(env, errno, "fallocate");
  return env.Undefined();
}

// mmapReadOnly(fd, offset, length): a Buffer over a shared read-only mapping, unmapped by the Buffer's finalizer.
// The offset need not be page-aligned: the mapping starts at the page below it.
Napi::Value MmapReadOnly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double fd, offset, length;
  if (!ArgNonNeg(info[0], 2147483647.0, &fd) || !ArgNonNeg(info[1], 9007199254740991.0, &offset) ||
      !ArgNonNeg(info[2], 9007199254740991.0, &length)) {
    ThrowTypeError(env, "mmapReadOnly(fd, offset, length)");
    return env.Undefined();
  }
  if (length == 0) return Napi::Buffer<uint8_t>::New(env, 0);
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t off = static_cast<uint64_t>(offset);
  const uint64_t delta = off % page;
  const size_t map_len = static_cast<size_t>(length) + delta;
  void* base = mmap(nullptr, map_len, PROT_READ, MAP_SHARED, static_cast<int>(fd), static_cast<off_t>(off - delta));
  if (base == MAP_FAILED) {
    ThrowNativeError(env, errno, "mmap");
    return env.Undefined();
  }
  auto* m = new Mapping{base, map_len};
  return Napi::Buffer<uint8_t>::New(
      env, static_cast<uint8_t*>(base) + delta, static_cast<size_t>(length),
      [](Napi::Env, uint8_t*, Mapping* m) {
        munmap(m->base, m->length);
        delete m;
      },
      m);
}

}  // namespace berth

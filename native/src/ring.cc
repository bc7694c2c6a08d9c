// The JS face of the write ring: createRing() and the methods of the object it returns. Each method carries the
// ring's id, so a call on a closed (or replaced) ring fails cleanly instead of touching freed memory.
#include "ring.h"

#include <errno.h>

#include <cstdint>

#include "errors.h"
#include "write-ring.h"

namespace berth {
namespace {

constexpr size_t kPageSize = 4096;
uint32_t g_next_id = 1;

Ring* RingOf(const Napi::CallbackInfo& info) {
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  if (g_ring == nullptr || g_ring->id() != id || g_ring->closing()) {
    ThrowNativeError(info.Env(), ESHUTDOWN, "io_uring_enter");
    return nullptr;
  }
  return g_ring;
}

bool ArgFd(const Napi::Value& v, int* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) return false;
  *out = static_cast<int>(d);
  return true;
}

bool ArgU64(const Napi::Value& v, uint64_t* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  *out = static_cast<uint64_t>(d);
  return true;
}

// Checks writeFixed / joinSync arguments (fd, data, position, cb, syncCb), throwing a TypeError when they are
// wrong. `sync_required`: syncCb must be a function (else it may be undefined).
bool WriteArgs(const Napi::CallbackInfo& info, bool sync_required, const char* usage, int* fd, uint64_t* position) {
  if (!ArgFd(info[0], fd) || !info[1].IsTypedArray() || !ArgU64(info[2], position) || !info[3].IsFunction() ||
      !(info[4].IsFunction() || (!sync_required && info[4].IsUndefined()))) {
    ThrowTypeError(info.Env(), usage);
    return false;
  }
  return true;
}

// The write request those (checked) arguments describe.
Request* NewWriteRequest(const Napi::CallbackInfo& info, int fd, uint64_t position) {
  Napi::TypedArray data = info[1].As<Napi::TypedArray>();
  auto* r = new Request(Request::kWrite);
  r->fd = fd;
  r->position = position;
  r->src = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  r->src_len = data.ByteLength();
  r->cb = Napi::Persistent(info[3].As<Napi::Function>());
  if (info[4].IsFunction()) r->sync_cb = Napi::Persistent(info[4].As<Napi::Function>());
  return r;
}

Napi::Value WriteFixed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  int fd;
  uint64_t position;
  if (ring == nullptr ||
      !WriteArgs(info, false, "writeFixed(fd, data: Uint8Array, position, cb, syncCb?)", &fd, &position)) {
    return env.Undefined();
  }
  if (info[1].As<Napi::TypedArray>().ByteLength() == 0) {
    ThrowNativeError(env, EINVAL, "io_uring_write_fixed");
    return env.Undefined();
  }
  Request* r = NewWriteRequest(info, fd, position);
  r->data = Napi::Persistent(info[1].As<Napi::Object>());  // the kernel may read it until the write completes
  ring->Enqueue(r);
  return env.Undefined();
}

// joinSync(fd, data, position, cb, syncCb): writeFixed with a sync callback, but only as a rider on the latest
// write SQE whose fdatasync is linked behind it and which it continues (Ring::Join); returns whether it did. When it
// returns false nothing was queued and no callback will run. The bytes are copied before it returns.
Napi::Value JoinSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  int fd;
  uint64_t position;
  if (ring == nullptr ||
      !WriteArgs(info, true, "joinSync(fd, data: Uint8Array, position, cb, syncCb)", &fd, &position)) {
    return env.Undefined();
  }
  // Checked before anything is allocated: an acks=-1 append tries this whenever its partition's fdatasync is in
  // flight, and usually the write it would join went to the kernel in an earlier turn.
  const size_t len = info[1].As<Napi::TypedArray>().ByteLength();
  if (len == 0 || !ring->Joinable(fd, position, len)) return Napi::Boolean::New(env, false);
  Request* r = NewWriteRequest(info, fd, position);
  if (ring->Join(r)) return Napi::Boolean::New(env, true);
  delete r;
  return Napi::Boolean::New(env, false);
}

Napi::Value Fdatasync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  if (ring == nullptr) return env.Undefined();
  int fd;
  if (!ArgFd(info[0], &fd) || !info[1].IsFunction()) {
    ThrowTypeError(env, "fdatasync(fd, cb)");
    return env.Undefined();
  }
  auto* r = new Request(Request::kFsync);
  r->fd = fd;
  r->cb = Napi::Persistent(info[1].As<Napi::Function>());
  ring->Enqueue(r);
  return env.Undefined();
}

Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  if (ring == nullptr) return env.Undefined();
  int fd, mode;
  uint64_t offset, length;
  if (!ArgFd(info[0], &fd) || !ArgFd(info[1], &mode) || !ArgU64(info[2], &offset) || !ArgU64(info[3], &length) ||
      !info[4].IsFunction()) {
    ThrowTypeError(env, "fallocate(fd, mode, offset, length, cb)");
    return env.Undefined();
  }
  auto* r = new Request(Request::kFallocate);
  r->fd = fd;
  r->mode = mode;
  r->position = offset;
  r->length = length;
  r->cb = Napi::Persistent(info[4].As<Napi::Function>());
  ring->Enqueue(r);
  return env.Undefined();
}

Napi::Value InFlight(const Napi::CallbackInfo& info) {
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  const double n = g_ring != nullptr && g_ring->id() == id ? static_cast<double>(g_ring->outstanding()) : 0;
  return Napi::Number::New(info.Env(), n);
}

// setLinkedSync(on): whether later writes with a sync callback go to the kernel linked with their fdatasync.
Napi::Value SetLinkedSync(const Napi::CallbackInfo& info) {
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  if (g_ring != nullptr && g_ring->id() == id && info[0].IsBoolean()) {
    g_ring->set_linked_sync(info[0].As<Napi::Boolean>().Value());
  }
  return info.Env().Undefined();
}

// setCoalesceWrites(on): whether later small writes may join the SQE of the write they continue.
Napi::Value SetCoalesceWrites(const Napi::CallbackInfo& info) {
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  if (g_ring != nullptr && g_ring->id() == id && info[0].IsBoolean()) {
    g_ring->set_coalesce(info[0].As<Napi::Boolean>().Value());
  }
  return info.Env().Undefined();
}

// { enters, sqes, coalesced }: io_uring_enter calls that submitted, the SQEs they carried, and writes that joined
// another write's SQE.
Napi::Value SubmitStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  Napi::Object o = Napi::Object::New(env);
  const bool live = g_ring != nullptr && g_ring->id() == id;
  o.Set("enters", Napi::Number::New(env, live ? g_ring->queue().enters() : 0));
  o.Set("sqes", Napi::Number::New(env, live ? g_ring->queue().submitted() : 0));
  o.Set("coalesced", Napi::Number::New(env, live ? g_ring->coalesced() : 0));
  return o;
}

Napi::Value CloseRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  if (ring == nullptr) return env.Undefined();
  if (!info[0].IsFunction()) {
    ThrowTypeError(env, "close(cb)");
    return env.Undefined();
  }
  ring->Close(info[0].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace

Napi::Value CreateRing(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (IoUringDisabledByEnv()) {
    ThrowNativeError(env, ENOSYS, "io_uring_setup");
    return env.Undefined();
  }
  if (!info[0].IsObject()) {
    ThrowTypeError(env, "createRing({ entries, bufferCount, bufferSize })");
    return env.Undefined();
  }
  Napi::Object opts = info[0].As<Napi::Object>();
  uint64_t entries, count, size;
  if (!ArgU64(opts.Get("entries"), &entries) || !ArgU64(opts.Get("bufferCount"), &count) ||
      !ArgU64(opts.Get("bufferSize"), &size) || entries < 1 || entries > 32768 || count < 1 || count > 16384 ||
      size < kPageSize || size % kPageSize != 0 || size > (1u << 30) || count * size > (uint64_t{16} << 30)) {
    ThrowTypeError(env, "createRing: entries 1..32768, bufferCount 1..16384, bufferSize a multiple of 4096");
    return env.Undefined();
  }
  if (g_ring != nullptr) {
    ThrowNativeError(env, EEXIST, "createRing");  // one ring per process, until it is closed
    return env.Undefined();
  }
  auto* ring = new Ring(env, g_next_id++);
  const char* syscall = "";
  const int r = ring->Open(static_cast<unsigned>(entries), static_cast<unsigned>(count), size, &syscall);
  if (r < 0) {
    ring->AbortOpen();
    ThrowNativeError(env, -r, syscall);
    return env.Undefined();
  }
  g_ring = ring;
  uint64_t direct_min = 0;
  if (opts.Has("directWriteMin") && ArgU64(opts.Get("directWriteMin"), &direct_min)) {
    ring->set_direct_min(static_cast<size_t>(direct_min));
  }
  if (opts.Has("linkedSync") && opts.Get("linkedSync").IsBoolean()) {
    ring->set_linked_sync(opts.Get("linkedSync").As<Napi::Boolean>().Value());
  }
  if (opts.Has("coalesceWrites") && opts.Get("coalesceWrites").IsBoolean()) {
    ring->set_coalesce(opts.Get("coalesceWrites").As<Napi::Boolean>().Value());
  }
  void* data = reinterpret_cast<void*>(static_cast<uintptr_t>(ring->id()));
  Napi::Object o = Napi::Object::New(env);
  o.Set("writeFixed", Napi::Function::New(env, WriteFixed, "writeFixed", data));
  o.Set("joinSync", Napi::Function::New(env, JoinSync, "joinSync", data));
  o.Set("fdatasync", Napi::Function::New(env, Fdatasync, "fdatasync", data));
  o.Set("fallocate", Napi::Function::New(env, Fallocate, "fallocate", data));
  o.Set("inFlight", Napi::Function::New(env, InFlight, "inFlight", data));
  o.Set("close", Napi::Function::New(env, CloseRing, "close", data));
  o.Set("submitStats", Napi::Function::New(env, SubmitStats, "submitStats", data));
  o.Set("setLinkedSync", Napi::Function::New(env, SetLinkedSync, "setLinkedSync", data));
  o.Set("setCoalesceWrites", Napi::Function::New(env, SetCoalesceWrites, "setCoalesceWrites", data));
  o.Set("bufferSize", Napi::Number::New(env, static_cast<double>(ring->buffer_size())));
  o.Set("directWriteMin", Napi::Number::New(env, static_cast<double>(ring->direct_min())));
  o.Set("linkedSync", Napi::Boolean::New(env, ring->linked_sync()));
  o.Set("coalesceWrites", Napi::Boolean::New(env, ring->coalesce()));
  return o;
}

}  // namespace berth

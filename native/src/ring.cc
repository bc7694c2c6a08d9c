// One ring per process. Life of a request:
//   writeFixed() queues a Request; Pump() copies its bytes into free pool buffers (the only user-space copy) and
//   prepares one WRITE_FIXED SQE per buffer-sized chunk. Nothing is submitted yet: a uv_prepare handle, which libuv
//   runs right before it blocks for I/O, hands every SQE prepared during this loop iteration to the kernel in one
//   io_uring_enter (earlier only when the SQ is full). The eventfd wakes the loop, completions are reaped, short
//   writes are resubmitted for the remainder, buffers go back to the pool (which lets waiting requests proceed),
//   and finished requests' callbacks run inside one callback scope, so promise continuations run after all of them
//   and their new writes batch into the next submission.
// Requests that find no free buffer or no CQ room wait, in order, in `waiting_`. An fdatasync is not ordered
// after writes still in flight: callers that need that ordering wait for the writes first (the UringEngine does).
#include "ring.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

#include "errors.h"
#include "uring.h"

namespace berth {
namespace {

constexpr size_t kPageSize = 4096;

struct Request {
  enum Kind { kWrite, kFsync, kFallocate };
  explicit Request(Kind k) : kind(k) {}
  Kind kind;
  int fd = -1;
  uint64_t position = 0;  // write position, or fallocate offset
  uint64_t length = 0;    // fallocate length
  int mode = 0;           // fallocate mode
  Napi::ObjectReference data;  // the caller's bytes, held until all of them are copied into pool buffers
  const uint8_t* src = nullptr;
  size_t src_len = 0;
  size_t scheduled = 0;   // bytes already copied into pool buffers
  unsigned pending = 0;   // SQEs of this request the kernel has not completed
  int err = 0;
  const char* syscall = "";
  Napi::FunctionReference cb;
};

// One SQE's worth of work. For a write: one pool buffer holding bytes [pos, pos+len) of the file.
struct Op {
  Request* req;
  int buf = -1;
  size_t len = 0;
  size_t done = 0;
  uint64_t pos = 0;
};

class Ring;
Ring* g_ring = nullptr;  // one per process
uint32_t g_next_id = 1;
void DrainAtProcessExit();

class Ring {
 public:
  Ring(napi_env env, uint32_t id) : env_(env), id_(id) {}

  int Open(unsigned entries, unsigned buffer_count, size_t buffer_size, const char** syscall);
  void Enqueue(Request* r) {
    waiting_.push_back(r);
    outstanding_++;
    Pump();
    UpdateRef();
  }
  void Close(Napi::Function cb) {
    closing_ = true;
    close_cb_ = Napi::Persistent(cb);
    MaybeTeardown();
  }
  uint32_t id() const { return id_; }
  bool closing() const { return closing_; }
  size_t outstanding() const { return outstanding_; }
  size_t buffer_size() const { return buffer_size_; }
  const Uring& queue() const { return q_; }

  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  void DrainKernel();
  // Frees what a failed Open() built (no handles exist yet then).
  void AbortOpen() {
    ReleaseKernelResources();
    delete this;
  }

 private:
  void Pump();
  bool PrepOp(Op* op);
  void Reap(bool call_js);
  void Complete(Request* r) {
    outstanding_--;
    done_.push_back(r);
  }
  void Deliver();
  void UpdateRef() {
    if (poll_ == nullptr) return;
    if (outstanding_ > 0) {
      uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    } else {
      uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
  }
  void MaybeTeardown();
  void ReleaseKernelResources();
  void HandleClosed();
  void CloseHandles();

  static void OnEventfd(uv_poll_t* h, int status, int events);
  static void OnPrepare(uv_prepare_t* h);
  static void OnPollClosed(uv_handle_t* h);
  static void OnPrepareClosed(uv_handle_t* h);

  napi_env env_;
  uint32_t id_;
  Uring q_;
  int efd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_prepare_t* prepare_ = nullptr;
  int open_handles_ = 0;
  uint8_t* pool_ = nullptr;
  size_t pool_len_ = 0;
  size_t buffer_size_ = 0;
  std::vector<int> free_bufs_;
  std::deque<Request*> waiting_;
  std::vector<Request*> done_;
  unsigned kernel_ops_ = 0;      // SQEs prepared or submitted and not yet reaped
  unsigned max_kernel_ops_ = 0;  // never more than the CQ holds
  size_t outstanding_ = 0;       // requests accepted whose callback has not been queued
  bool closing_ = false;
  bool tearing_down_ = false;
  bool env_exiting_ = false;
  napi_async_cleanup_hook_handle cleanup_handle_ = nullptr;
  Napi::FunctionReference close_cb_;
  napi_async_context async_ctx_ = nullptr;
};

int Ring::Open(unsigned entries, unsigned buffer_count, size_t buffer_size, const char** syscall) {
  *syscall = "io_uring_setup";
  int r = q_.Setup(entries);
  if (r < 0) return r;

  // Refuse early, with a clear errno, on a kernel that lacks an opcode we depend on.
  *syscall = "io_uring_register";
  std::vector<uint8_t> probe_mem(sizeof(io_uring_probe) + 256 * sizeof(io_uring_probe_op), 0);
  auto* probe = reinterpret_cast<io_uring_probe*>(probe_mem.data());
  if (q_.Register(IORING_REGISTER_PROBE, probe, 256) >= 0) {
    for (int opcode : {IORING_OP_WRITE_FIXED, IORING_OP_FSYNC, IORING_OP_FALLOCATE}) {
      if (opcode > probe->last_op || !(probe->ops[opcode].flags & IO_URING_OP_SUPPORTED)) return -EOPNOTSUPP;
    }
  }

  *syscall = "mmap";
  buffer_size_ = buffer_size;
  pool_len_ = static_cast<size_t>(buffer_count) * buffer_size;
  // Page-aligned and pre-faulted here, off the hot path; registration pins the pages anyway.
  void* pool = mmap(nullptr, pool_len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (pool == MAP_FAILED) return -errno;
  pool_ = static_cast<uint8_t*>(pool);

  *syscall = "io_uring_register";
  std::vector<iovec> iov(buffer_count);
  for (unsigned i = 0; i < buffer_count; i++) {
    iov[i].iov_base = pool_ + static_cast<size_t>(i) * buffer_size;
    iov[i].iov_len = buffer_size;
  }
  r = q_.Register(IORING_REGISTER_BUFFERS, iov.data(), buffer_count);
  if (r < 0) return r;
  free_bufs_.reserve(buffer_count);
  for (int i = static_cast<int>(buffer_count) - 1; i >= 0; i--) free_bufs_.push_back(i);

  *syscall = "eventfd";
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0) return -errno;
  *syscall = "io_uring_register";
  r = q_.Register(IORING_REGISTER_EVENTFD, &efd_, 1);
  if (r < 0) return r;

  *syscall = "uv_poll_init";
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env_, &loop) != napi_ok) return -EINVAL;
  poll_ = new uv_poll_t;
  poll_->data = this;
  if (uv_poll_init(loop, poll_, efd_) != 0) {
    delete poll_;
    poll_ = nullptr;
    return -EINVAL;
  }
  open_handles_++;
  uv_poll_start(poll_, UV_READABLE, OnEventfd);
  prepare_ = new uv_prepare_t;
  prepare_->data = this;
  uv_prepare_init(loop, prepare_);
  open_handles_++;
  // Neither handle keeps the process alive on its own; the poll handle is ref'd while requests are outstanding.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_));

  max_kernel_ops_ = q_.cq_entries();
  napi_value resource_name;
  napi_create_string_utf8(env_, "BerthRing", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env_, nullptr, resource_name, &async_ctx_);
  napi_add_async_cleanup_hook(env_, OnEnvCleanup, this, &cleanup_handle_);
  static bool atexit_added = false;
  if (!atexit_added) atexit(DrainAtProcessExit);
  atexit_added = true;
  return 0;
}

void Ring::Pump() {
  while (!waiting_.empty()) {
    Request* r = waiting_.front();
    if (r->kind == Request::kWrite) {
      while (r->scheduled < r->src_len) {
        if (free_bufs_.empty() || kernel_ops_ >= max_kernel_ops_) return;
        Op* op = new Op{r};
        op->buf = free_bufs_.back();
        free_bufs_.pop_back();
        op->len = r->src_len - r->scheduled;
        if (op->len > buffer_size_) op->len = buffer_size_;
        op->pos = r->position + r->scheduled;
        memcpy(pool_ + static_cast<size_t>(op->buf) * buffer_size_, r->src + r->scheduled, op->len);
        r->scheduled += op->len;
        r->pending++;
        PrepOp(op);
      }
      r->data.Reset();  // every byte is in a pool buffer now
      r->src = nullptr;
    } else {
      if (kernel_ops_ >= max_kernel_ops_) return;
      r->pending++;
      PrepOp(new Op{r});
    }
    waiting_.pop_front();
  }
}

bool Ring::PrepOp(Op* op) {
  io_uring_sqe* sqe = q_.GetSqe();
  if (sqe == nullptr) {
    // SQ full: submit what is there now rather than wait for the end of the loop iteration.
    q_.Submit();
    sqe = q_.GetSqe();
    if (sqe == nullptr) return false;  // unreachable: after a submit the kernel has consumed the SQ
  }
  Request* r = op->req;
  sqe->fd = r->fd;
  sqe->user_data = reinterpret_cast<uint64_t>(op);
  switch (r->kind) {
    case Request::kWrite:
      sqe->opcode = IORING_OP_WRITE_FIXED;
      sqe->addr = reinterpret_cast<uint64_t>(pool_ + static_cast<size_t>(op->buf) * buffer_size_ + op->done);
      sqe->len = static_cast<uint32_t>(op->len - op->done);
      sqe->off = op->pos + op->done;
      sqe->buf_index = static_cast<uint16_t>(op->buf);
      break;
    case Request::kFsync:
      sqe->opcode = IORING_OP_FSYNC;
      sqe->fsync_flags = IORING_FSYNC_DATASYNC;
      break;
    case Request::kFallocate:
      // The kernel reads the mode from len and the length from addr for this opcode.
      sqe->opcode = IORING_OP_FALLOCATE;
      sqe->off = r->position;
      sqe->addr = r->length;
      sqe->len = static_cast<uint32_t>(r->mode);
      break;
  }
  kernel_ops_++;
  if (prepare_ != nullptr) uv_prepare_start(prepare_, OnPrepare);
  return true;
}

void Ring::Reap(bool call_js) {
  io_uring_cqe* cqe;
  while ((cqe = q_.PeekCqe()) != nullptr) {
    Op* op = reinterpret_cast<Op*>(cqe->user_data);
    const int res = cqe->res;
    q_.CqeSeen();
    kernel_ops_--;
    Request* r = op->req;
    if (r->kind == Request::kWrite) {
      if (res == -EINTR || res == -EAGAIN) {
        PrepOp(op);  // try the same bytes again
        continue;
      }
      if (res > 0) {
        op->done += static_cast<size_t>(res);
        if (op->done < op->len) {
          PrepOp(op);  // short write: the rest of this buffer, at the matching file position
          continue;
        }
      } else if (r->err == 0) {
        r->err = res < 0 ? -res : EIO;  // a zero-byte write would otherwise loop forever
        r->syscall = "io_uring_write_fixed";
      }
      free_bufs_.push_back(op->buf);
    } else if (res < 0 && r->err == 0) {
      r->err = -res;
      r->syscall = r->kind == Request::kFsync ? "io_uring_fdatasync" : "io_uring_fallocate";
    }
    delete op;
    r->pending--;
    if (r->pending == 0 && r->scheduled == r->src_len) Complete(r);
  }
  Pump();  // freed buffers and CQ room let waiting requests go
  if (!call_js) return;
  Deliver();
  UpdateRef();
  MaybeTeardown();
}

void Ring::Deliver() {
  if (done_.empty()) return;
  std::vector<Request*> batch;
  batch.swap(done_);
  {
    JsCallScope js(env_, async_ctx_);
    for (Request* r : batch) {
      napi_value arg = r->err != 0 ? js.Error(r->err, r->syscall) : js.Null();
      js.Call(r->cb, 1, &arg);
    }
  }
  for (Request* r : batch) delete r;
}

void Ring::OnEventfd(uv_poll_t* h, int status, int events) {
  Ring* ring = static_cast<Ring*>(h->data);
  uint64_t count;
  while (read(ring->efd_, &count, sizeof count) > 0) {
  }
  ring->Reap(true);
}

void Ring::OnPrepare(uv_prepare_t* h) {
  Ring* ring = static_cast<Ring*>(h->data);
  ring->q_.Submit();
  // On a transient failure (EAGAIN/EBUSY) the entries stay in the SQ and the next iteration tries again.
  if (ring->q_.Unsubmitted() == 0) uv_prepare_stop(h);
}

void Ring::MaybeTeardown() {
  if (!closing_ || tearing_down_ || outstanding_ > 0) return;
  CloseHandles();
}

void Ring::CloseHandles() {
  tearing_down_ = true;
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), OnPollClosed);
  }
  if (prepare_ != nullptr) {
    uv_prepare_stop(prepare_);
    uv_close(reinterpret_cast<uv_handle_t*>(prepare_), OnPrepareClosed);
  }
}

void Ring::ReleaseKernelResources() {
  if (q_.IsOpen()) {
    q_.Register(IORING_UNREGISTER_EVENTFD, nullptr, 0);
    q_.Register(IORING_UNREGISTER_BUFFERS, nullptr, 0);
    q_.Close();
  }
  if (efd_ >= 0) close(efd_);
  efd_ = -1;
  if (pool_ != nullptr) munmap(pool_, pool_len_);
  pool_ = nullptr;
}

void Ring::OnPollClosed(uv_handle_t* h) {
  Ring* ring = static_cast<Ring*>(h->data);
  delete reinterpret_cast<uv_poll_t*>(h);
  ring->poll_ = nullptr;
  ring->HandleClosed();
}

void Ring::OnPrepareClosed(uv_handle_t* h) {
  Ring* ring = static_cast<Ring*>(h->data);
  delete reinterpret_cast<uv_prepare_t*>(h);
  ring->prepare_ = nullptr;
  ring->HandleClosed();
}

// Both handles are closed: nothing of libuv refers to us any more, so the memory can go.
void Ring::HandleClosed() {
  if (poll_ != nullptr || prepare_ != nullptr) return;
  ReleaseKernelResources();
  if (g_ring == this) g_ring = nullptr;
  if (!env_exiting_ && !close_cb_.IsEmpty()) {
    JsCallScope js(env_, async_ctx_);
    js.Call(close_cb_, 0, nullptr);
  }
  napi_async_destroy(env_, async_ctx_);
  // Last: once the hook is removed, Node may unload this library (worker threads).
  napi_remove_async_cleanup_hook(cleanup_handle_);
  delete this;
}

// Completes every accepted request as far as the kernel goes (including requests still queued for a buffer),
// without calling JS. Used when the environment or the process is going away.
void Ring::DrainKernel() {
  while (outstanding_ > 0 && q_.IsOpen()) {
    Pump();
    if (kernel_ops_ == 0) break;  // nothing the kernel could still complete
    const int r = q_.Submit(1);
    if (r < 0 && r != -EAGAIN && r != -EBUSY) break;
    Reap(false);
  }
}

// Environment teardown (process end, worker exit): the loop will not run our callbacks again. Wait for the kernel
// synchronously, drop the JS callbacks, and close the handles; Node keeps the library loaded until the last close
// callback removes the hook.
void Ring::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  Ring* ring = static_cast<Ring*>(arg);
  ring->env_exiting_ = true;
  ring->DrainKernel();
  for (Request* r : ring->done_) delete r;
  ring->done_.clear();
  for (Request* r : ring->waiting_) delete r;
  ring->waiting_.clear();
  if (!ring->tearing_down_) ring->CloseHandles();  // else close() already started it
}

// process.exit() on the main thread runs no environment cleanup hooks, only atexit handlers: still let the kernel
// finish the writes we accepted, so an append acknowledged to nobody yet is at least not half-written by us.
void DrainAtProcessExit() {
  if (g_ring != nullptr) g_ring->DrainKernel();
}

// ---- JS bindings ------------------------------------------------------------------------------------------------

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

Napi::Value WriteFixed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Ring* ring = RingOf(info);
  if (ring == nullptr) return env.Undefined();
  int fd;
  uint64_t position;
  if (!ArgFd(info[0], &fd) || !info[1].IsTypedArray() || !ArgU64(info[2], &position) || !info[3].IsFunction()) {
    ThrowTypeError(env, "writeFixed(fd, data: Uint8Array, position, cb)");
    return env.Undefined();
  }
  Napi::TypedArray data = info[1].As<Napi::TypedArray>();
  const size_t len = data.ByteLength();
  if (len == 0) {
    ThrowNativeError(env, EINVAL, "io_uring_write_fixed");
    return env.Undefined();
  }
  auto* r = new Request(Request::kWrite);
  r->fd = fd;
  r->position = position;
  r->src = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
  r->src_len = len;
  r->data = Napi::Persistent(data.As<Napi::Object>());
  r->cb = Napi::Persistent(info[3].As<Napi::Function>());
  ring->Enqueue(r);
  return env.Undefined();
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

// { enters, sqes }: io_uring_enter calls that submitted, and the SQEs they carried.
Napi::Value SubmitStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(info.Data()));
  Napi::Object o = Napi::Object::New(env);
  const bool live = g_ring != nullptr && g_ring->id() == id;
  o.Set("enters", Napi::Number::New(env, live ? g_ring->queue().enters() : 0));
  o.Set("sqes", Napi::Number::New(env, live ? g_ring->queue().submitted() : 0));
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
  void* data = reinterpret_cast<void*>(static_cast<uintptr_t>(ring->id()));
  Napi::Object o = Napi::Object::New(env);
  o.Set("writeFixed", Napi::Function::New(env, WriteFixed, "writeFixed", data));
  o.Set("fdatasync", Napi::Function::New(env, Fdatasync, "fdatasync", data));
  o.Set("fallocate", Napi::Function::New(env, Fallocate, "fallocate", data));
  o.Set("inFlight", Napi::Function::New(env, InFlight, "inFlight", data));
  o.Set("close", Napi::Function::New(env, CloseRing, "close", data));
  o.Set("submitStats", Napi::Function::New(env, SubmitStats, "submitStats", data));
  o.Set("bufferSize", Napi::Number::New(env, static_cast<double>(ring->buffer_size())));
  return o;
}

}  // namespace berth

// The socket belongs to libuv (a net.Socket), so it is non-blocking and already in libuv's epoll set; libuv
// refuses a second uv_poll on the same fd. When the socket is full (EAGAIN) the job therefore waits on a private
// epoll instance (EPOLLOUT | EPOLLONESHOT on the socket), and that epoll fd is what a single uv_poll handle watches.
// This works with or without io_uring. sendfile(2) is used rather than splice through a pipe: it is zero-copy too,
// needs no pipe per connection, and measured faster on our machines (MACHINE.md).
//
// A job runs synchronously until the socket is full or it has sent kTurnBudget bytes; then it yields to the event
// loop (waiting for writability, which is immediate when the socket still has room) so one large fetch cannot
// starve other connections. A job that finishes in its first turn is returned to the caller, which calls back on
// a microtask; later completions call back from the epoll poll handle.
#include "send.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <vector>

#include "errors.h"

namespace berth {
namespace {

constexpr size_t kTurnBudget = 8u << 20;
constexpr size_t kMaxSendfile = 0x7ffff000;  // the kernel's cap on one transfer

struct Range {
  int fd;
  uint64_t offset;
  uint64_t length;
};

struct SendJob {
  int sock = -1;
  Napi::ObjectReference head;  // held until its bytes are in the socket
  const uint8_t* head_ptr = nullptr;
  size_t head_len = 0;
  size_t head_done = 0;
  std::vector<Range> ranges;
  size_t index = 0;        // current range
  uint64_t range_done = 0;  // bytes of the current range sent
  double total = 0;
  int err = 0;
  const char* syscall = "";
  bool in_epoll = false;
  Napi::FunctionReference cb;
};

enum class Step { kDone, kWait };

// Sends until done, error (job->err set; counts as done) or the socket is full / the turn's budget is spent.
Step Pump(SendJob* job) {
  size_t budget = kTurnBudget;
  while (job->head_done < job->head_len) {
    // MSG_MORE: let the kernel put the header in the same segment as the first file bytes.
    const int more = job->ranges.empty() ? 0 : MSG_MORE;
    const ssize_t n = send(job->sock, job->head_ptr + job->head_done, job->head_len - job->head_done,
                           MSG_NOSIGNAL | MSG_DONTWAIT | more);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::kWait;
      job->err = errno;
      job->syscall = "send";
      return Step::kDone;
    }
    job->head_done += static_cast<size_t>(n);
    job->total += static_cast<double>(n);
  }
  job->head.Reset();
  while (job->index < job->ranges.size()) {
    const Range& r = job->ranges[job->index];
    if (job->range_done == r.length) {
      job->index++;
      job->range_done = 0;
      continue;
    }
    if (budget == 0) return Step::kWait;
    uint64_t want = r.length - job->range_done;
    if (want > kMaxSendfile) want = kMaxSendfile;
    if (want > budget) want = budget;
    off_t off = static_cast<off_t>(r.offset + job->range_done);
    const ssize_t n = sendfile(job->sock, r.fd, &off, static_cast<size_t>(want));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::kWait;
      job->err = errno;
      job->syscall = "sendfile";
      return Step::kDone;
    }
    if (n == 0) {
      // The file ends before the range does (truncated under us): the response would be malformed.
      job->err = ENODATA;
      job->syscall = "sendfile";
      return Step::kDone;
    }
    job->range_done += static_cast<uint64_t>(n);
    job->total += static_cast<double>(n);
    budget -= static_cast<size_t>(n) < budget ? static_cast<size_t>(n) : budget;
  }
  return Step::kDone;
}

// Per-process waiter: the private epoll set and the uv_poll that watches it.
class Waiter {
 public:
  static Waiter* Get(napi_env env, int* err);
  // Arms a one-shot EPOLLOUT for the job's socket. Returns 0 or an errno.
  int Wait(SendJob* job);
  void Forget(SendJob* job);

 private:
  static void OnReady(uv_poll_t* h, int status, int events);
  static void Cleanup(napi_async_cleanup_hook_handle handle, void* arg);
  void UpdateActive();

  napi_env env_ = nullptr;
  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;
  size_t waiting_ = 0;
  std::vector<SendJob*> jobs_;  // every job waiting, to free them at exit
  napi_async_context async_ctx_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_handle_ = nullptr;
};

// Per thread, hence per Node environment: a worker's sends wait on its own loop.
thread_local Waiter* g_waiter = nullptr;

Waiter* Waiter::Get(napi_env env, int* err) {
  if (g_waiter != nullptr) return g_waiter;
  auto* w = new Waiter;
  w->env_ = env;
  w->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (w->epfd_ < 0) {
    *err = errno;
    delete w;
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  w->poll_ = new uv_poll_t;
  w->poll_->data = w;
  if (uv_poll_init(loop, w->poll_, w->epfd_) != 0) {
    *err = EINVAL;
    close(w->epfd_);
    delete w->poll_;
    delete w;
    return nullptr;
  }
  napi_value name;
  napi_create_string_utf8(env, "BerthSendRanges", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &w->async_ctx_);
  napi_add_async_cleanup_hook(env, Cleanup, w, &w->cleanup_handle_);
  g_waiter = w;
  return w;
}

int Waiter::Wait(SendJob* job) {
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLONESHOT;
  ev.data.ptr = job;
  if (epoll_ctl(epfd_, job->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, job->sock, &ev) != 0) {
    // EEXIST: another send on this socket is in flight, which the caller promised not to do.
    return errno == EEXIST ? EBUSY : errno;
  }
  if (!job->in_epoll) {
    job->in_epoll = true;
    jobs_.push_back(job);
    waiting_++;
    UpdateActive();
  }
  return 0;
}

void Waiter::Forget(SendJob* job) {
  if (!job->in_epoll) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, job->sock, nullptr);  // fails harmlessly if the socket is already closed
  job->in_epoll = false;
  for (size_t i = 0; i < jobs_.size(); i++) {
    if (jobs_[i] == job) {
      jobs_[i] = jobs_.back();
      jobs_.pop_back();
      break;
    }
  }
  waiting_--;
  UpdateActive();
}

void Waiter::UpdateActive() {
  // Active only while some job waits, and never what keeps the process alive: an open socket's own libuv handle
  // does that, and a socket closed under a waiting job (against the caller's rule) must not hang the process.
  if (waiting_ > 0) {
    uv_poll_start(poll_, UV_READABLE, OnReady);
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  } else {
    uv_poll_stop(poll_);
  }
}

void Waiter::OnReady(uv_poll_t* h, int status, int events) {
  Waiter* w = static_cast<Waiter*>(h->data);
  epoll_event evs[64];
  const int n = epoll_wait(w->epfd_, evs, 64, 0);
  if (n <= 0) return;
  std::vector<SendJob*> finished;
  for (int i = 0; i < n; i++) {
    SendJob* job = static_cast<SendJob*>(evs[i].data.ptr);
    Step s = Pump(job);
    if (s == Step::kWait) {
      const int err = w->Wait(job);
      if (err == 0) continue;
      job->err = err;
      job->syscall = "epoll_ctl";
    }
    w->Forget(job);
    finished.push_back(job);
  }
  if (finished.empty()) return;
  {
    JsCallScope js(w->env_, w->async_ctx_);
    for (SendJob* job : finished) {
      napi_value args[2] = {job->err != 0 ? js.Error(job->err, job->syscall) : js.Null(), js.Number(job->total)};
      js.Call(job->cb, 2, args);
    }
  }
  for (SendJob* job : finished) delete job;
}

// Environment teardown: abandon waiting sends (their sockets are being destroyed too) and close the poll handle;
// Node keeps this library loaded until the close callback removes the hook.
void Waiter::Cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  Waiter* w = static_cast<Waiter*>(arg);
  for (SendJob* job : w->jobs_) {
    epoll_ctl(w->epfd_, EPOLL_CTL_DEL, job->sock, nullptr);
    delete job;
  }
  w->jobs_.clear();
  if (g_waiter == w) g_waiter = nullptr;
  uv_poll_stop(w->poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(w->poll_), [](uv_handle_t* h) {
    Waiter* w = static_cast<Waiter*>(h->data);
    delete reinterpret_cast<uv_poll_t*>(h);
    close(w->epfd_);
    napi_async_destroy(w->env_, w->async_ctx_);
    napi_remove_async_cleanup_hook(w->cleanup_handle_);
    delete w;
  });
}

bool ArgInt(const Napi::Value& v, int* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) return false;
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

// sendRanges(socketFd, head: Uint8Array | null, ranges: Float64Array [fd, offset, length]*, cb)
//   -> undefined when the job continues in the background (cb is called later), or
//   -> { error: NativeError | null, bytesSent } when it finished in this call (cb is not called).
Napi::Value SendRanges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock;
  if (!ArgInt(info[0], &sock) || !(info[1].IsNull() || info[1].IsTypedArray()) || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[3].IsFunction()) {
    ThrowTypeError(env, "sendRanges(socketFd, head, ranges: Float64Array, cb)");
    return env.Undefined();
  }
  Napi::Float64Array packed = info[2].As<Napi::Float64Array>();
  if (packed.ElementLength() % 3 != 0) {
    ThrowTypeError(env, "sendRanges: ranges must hold [fd, offset, length] triples");
    return env.Undefined();
  }
  auto* job = new SendJob;
  job->sock = sock;
  if (info[1].IsTypedArray()) {
    Napi::TypedArray head = info[1].As<Napi::TypedArray>();
    job->head_ptr = static_cast<const uint8_t*>(head.ArrayBuffer().Data()) + head.ByteOffset();
    job->head_len = head.ByteLength();
  }
  const size_t count = packed.ElementLength() / 3;
  job->ranges.reserve(count);
  for (size_t i = 0; i < count; i++) {
    const double fd = packed[i * 3], off = packed[i * 3 + 1], len = packed[i * 3 + 2];
    if (!(fd >= 0 && fd <= 2147483647.0 && off >= 0 && off <= 9007199254740991.0 && len >= 0 &&
          len <= 9007199254740991.0)) {
      delete job;
      ThrowTypeError(env, "sendRanges: a range has a bad fd, offset or length");
      return env.Undefined();
    }
    job->ranges.push_back(Range{static_cast<int>(fd), static_cast<uint64_t>(off), static_cast<uint64_t>(len)});
  }

  if (Pump(job) == Step::kWait) {
    int err = 0;
    Waiter* w = Waiter::Get(env, &err);
    if (w != nullptr) err = w->Wait(job);
    if (err == 0) {
      // Keep the head bytes and the callback until the job is done.
      if (job->head_done < job->head_len) job->head = Napi::Persistent(info[1].As<Napi::Object>());
      job->cb = Napi::Persistent(info[3].As<Napi::Function>());
      return env.Undefined();
    }
    job->err = err;
    job->syscall = "epoll_ctl";
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("error", job->err != 0 ? MakeNativeError(env, job->err, job->syscall).Value() : env.Null());
  result.Set("bytesSent", Napi::Number::New(env, job->total));
  delete job;
  return result;
}

}  // namespace berth

// The thread waits on a private epoll set: an eventfd that says "new jobs", and the sockets of jobs waiting to be
// writable (EPOLLOUT | EPOLLONESHOT). Each turn it gives every runnable job up to kThreadTurn bytes, so several
// consumers share it fairly. Finished jobs go back to the JS thread through a uv_async handle, which calls their
// callbacks in one callback scope and frees them there (their N-API references belong to that thread).
//
// A handed-over job sends through duplicates of its socket and file descriptors, closed when it ends: the JS side
// may close its own (a connection destroyed, a segment deleted) while the thread still sends, and a number it
// closed can be reused at once by an unrelated file. To stop a send to a peer that no longer reads, the connection
// shuts the socket down first (ShutdownSocket), which the duplicate shares.
#include "send-thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "errors.h"

namespace berth {
namespace {

constexpr size_t kThreadTurn = 1u << 20;

class SendThread {
 public:
  static SendThread* Get(napi_env env, int* err, const char** syscall);
  int Hand(SendJob* job, const char** syscall);

 private:
  static void* Main(void* arg);
  void Run();
  void Release(SendJob* job);
  static void OnDone(uv_async_t* h);
  static void Cleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void Free(uv_handle_t* h);

  napi_env env_ = nullptr;
  napi_async_context async_ctx_ = nullptr;
  napi_async_cleanup_hook_handle cleanup_handle_ = nullptr;
  uv_async_t* done_signal_ = nullptr;
  int epfd_ = -1;
  int wakefd_ = -1;
  pthread_t thread_{};

  std::mutex mu_;
  std::vector<SendJob*> incoming_;  // guarded by mu_
  std::vector<SendJob*> done_;      // guarded by mu_
  bool stopping_ = false;           // guarded by mu_

  // The thread's own (read by Cleanup only after it has joined the thread).
  std::deque<SendJob*> runnable_;
  std::vector<SendJob*> waiting_;
};

thread_local SendThread* g_sender = nullptr;

void CloseDuplicates(SendJob* job) {
  if (!job->owns_fds) return;
  if (job->sock >= 0) close(job->sock);
  job->sock = -1;
  for (size_t i = 0; i < job->ranges.size(); i++) {
    const int fd = job->ranges[i].fd;
    if (fd < 0) continue;
    close(fd);
    for (size_t j = i; j < job->ranges.size(); j++) {
      if (job->ranges[j].fd == fd) job->ranges[j].fd = -1;
    }
  }
}

// Replaces the job's socket and the fds of its unsent ranges by duplicates. On failure nothing of the job's is open.
int Duplicate(SendJob* job, const char** syscall) {
  *syscall = "dup";
  const int sock = fcntl(job->sock, F_DUPFD_CLOEXEC, 0);
  if (sock < 0) return errno;
  std::vector<int> original(job->ranges.size(), -1);
  for (size_t i = 0; i < job->ranges.size(); i++) {
    original[i] = job->ranges[i].fd;
    job->ranges[i].fd = -1;
  }
  job->sock = sock;
  job->owns_fds = true;
  for (size_t i = job->index; i < job->ranges.size(); i++) {
    for (size_t j = job->index; j < i; j++) {
      if (original[j] == original[i]) job->ranges[i].fd = job->ranges[j].fd;
    }
    if (job->ranges[i].fd >= 0) continue;
    const int fd = fcntl(original[i], F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      const int err = errno;
      if (err == EBADF) *syscall = "sendfile";  // a bad file fd reads as it would have inline
      CloseDuplicates(job);
      return err;
    }
    job->ranges[i].fd = fd;
  }
  return 0;
}

// BERTH_FAULT_SEND_THREAD (tests): the thread never starts, as when pthread_create fails with EAGAIN (a pids or
// memory limit in a container), so that the broker's fallback to the copying path can be exercised.
bool StartFaultInjected() {
  const char* v = getenv("BERTH_FAULT_SEND_THREAD");
  return v != nullptr && v[0] != '\0' && strcmp(v, "0") != 0;
}

SendThread* SendThread::Get(napi_env env, int* err, const char** syscall) {
  if (g_sender != nullptr) return g_sender;
  if (StartFaultInjected()) {
    *err = EAGAIN;
    *syscall = "pthread_create";
    return nullptr;
  }
  auto* t = new SendThread;
  t->env_ = env;
  const auto fail = [&](const char* call) -> SendThread* {
    *err = errno;
    *syscall = call;
    if (t->wakefd_ >= 0) close(t->wakefd_);
    if (t->epfd_ >= 0) close(t->epfd_);
    delete t;
    return nullptr;
  };
  t->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (t->epfd_ < 0) return fail("epoll_create1");
  t->wakefd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (t->wakefd_ < 0) return fail("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up eventfd; jobs carry their own pointer
  if (epoll_ctl(t->epfd_, EPOLL_CTL_ADD, t->wakefd_, &ev) != 0) return fail("epoll_ctl");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  t->done_signal_ = new uv_async_t;
  t->done_signal_->data = t;
  if (uv_async_init(loop, t->done_signal_, OnDone) != 0) {
    delete t->done_signal_;
    errno = EINVAL;
    return fail("uv_async_init");
  }
  const int created = pthread_create(&t->thread_, nullptr, Main, t);
  if (created != 0) {
    *err = created;
    *syscall = "pthread_create";
    uv_close(reinterpret_cast<uv_handle_t*>(t->done_signal_), Free);
    return nullptr;
  }
  // Never what keeps the process alive: a socket with a send in flight is an open libuv handle of its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(t->done_signal_));
  napi_value name;
  napi_create_string_utf8(env, "BerthSendRanges", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &t->async_ctx_);
  napi_add_async_cleanup_hook(env, Cleanup, t, &t->cleanup_handle_);
  g_sender = t;
  return t;
}

int SendThread::Hand(SendJob* job, const char** syscall) {
  const int err = Duplicate(job, syscall);
  if (err != 0) return err;
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back(job);
  }
  const uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof one);  // cannot fail: the counter would overflow only after 2^64 writes
  return 0;
}

void* SendThread::Main(void* arg) {
  pthread_setname_np(pthread_self(), "berth-send");  // what top -H and perf show
  static_cast<SendThread*>(arg)->Run();
  return nullptr;
}

void SendThread::Release(SendJob* job) {
  if (job->armed) epoll_ctl(epfd_, EPOLL_CTL_DEL, job->sock, nullptr);
  job->armed = false;
  CloseDuplicates(job);
}

void SendThread::Run() {
  epoll_event evs[64];
  std::vector<SendJob*> finished;
  for (;;) {
    const int n = epoll_wait(epfd_, evs, 64, runnable_.empty() ? -1 : 0);
    for (int i = 0; i < n; i++) {
      auto* job = static_cast<SendJob*>(evs[i].data.ptr);
      if (job == nullptr) {
        uint64_t count;
        (void)!read(wakefd_, &count, sizeof count);
        continue;
      }
      const auto at = std::find(waiting_.begin(), waiting_.end(), job);
      if (at != waiting_.end()) waiting_.erase(at);
      runnable_.push_back(job);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      runnable_.insert(runnable_.end(), incoming_.begin(), incoming_.end());
      incoming_.clear();
    }
    for (size_t k = runnable_.size(); k > 0; k--) {
      SendJob* job = runnable_.front();
      runnable_.pop_front();
      const Step step = Pump(job, kThreadTurn);
      if (step == Step::kBudget) {
        runnable_.push_back(job);
        continue;
      }
      if (step == Step::kWritable) {
        epoll_event ev{};
        ev.events = EPOLLOUT | EPOLLONESHOT;
        ev.data.ptr = job;
        if (epoll_ctl(epfd_, job->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, job->sock, &ev) == 0) {
          job->armed = true;
          waiting_.push_back(job);
          continue;
        }
        job->err = errno;
        job->syscall = "epoll_ctl";
      }
      Release(job);
      finished.push_back(job);
    }
    if (finished.empty()) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.insert(done_.end(), finished.begin(), finished.end());
    }
    finished.clear();
    uv_async_send(done_signal_);
  }
}

void SendThread::OnDone(uv_async_t* h) {
  SendThread* t = static_cast<SendThread*>(h->data);
  std::vector<SendJob*> done;
  {
    std::lock_guard<std::mutex> lock(t->mu_);
    done.swap(t->done_);
  }
  if (done.empty()) return;
  {
    JsCallScope js(t->env_, t->async_ctx_);
    for (SendJob* job : done) {
      napi_value args[2] = {job->err != 0 ? js.Error(job->err, job->syscall) : js.Null(), js.Number(job->total)};
      js.Call(job->cb, 2, args);
    }
  }
  for (SendJob* job : done) delete job;
}

// Environment teardown: stop the thread, abandon the sends it had (their sockets are going too), and close the
// async handle; Node keeps this library loaded until the close callback removes the hook.
void SendThread::Cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  SendThread* t = static_cast<SendThread*>(arg);
  {
    std::lock_guard<std::mutex> lock(t->mu_);
    t->stopping_ = true;
  }
  const uint64_t one = 1;
  (void)!write(t->wakefd_, &one, sizeof one);
  pthread_join(t->thread_, nullptr);
  for (auto* list : {&t->incoming_, &t->done_, &t->waiting_}) {
    for (SendJob* job : *list) {
      t->Release(job);
      delete job;
    }
    list->clear();
  }
  for (SendJob* job : t->runnable_) {
    t->Release(job);
    delete job;
  }
  t->runnable_.clear();
  if (g_sender == t) g_sender = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(t->done_signal_), Free);
}

// The async handle's close callback: the last of the thread's resources (set-up may have failed before the async
// context and the cleanup hook existed).
void SendThread::Free(uv_handle_t* h) {
  SendThread* t = static_cast<SendThread*>(h->data);
  delete reinterpret_cast<uv_async_t*>(h);
  close(t->wakefd_);
  close(t->epfd_);
  if (t->async_ctx_ != nullptr) napi_async_destroy(t->env_, t->async_ctx_);
  if (t->cleanup_handle_ != nullptr) napi_remove_async_cleanup_hook(t->cleanup_handle_);
  delete t;
}

}  // namespace

int HandToSendThread(napi_env env, SendJob* job, const char** syscall, bool* no_thread) {
  int err = 0;
  SendThread* t = SendThread::Get(env, &err, syscall);
  *no_thread = t == nullptr;
  if (t == nullptr) return err;
  return t->Hand(job, syscall);
}

Napi::Value ShutdownSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    ThrowTypeError(env, "shutdownSocket(socketFd)");
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  // ENOTCONN: the peer is gone already; either way nothing more will be sent.
  if (shutdown(fd, SHUT_RDWR) != 0 && errno != ENOTCONN) ThrowNativeError(env, errno, "shutdown");
  return env.Undefined();
}

}  // namespace berth

// One ring per process. Life of a request:
//   writeFixed() queues a Request; Pump() copies its bytes into free pool buffers (the only user-space copy) and
//   prepares one WRITE_FIXED SQE per buffer-sized chunk, or, when the bytes continue the latest SQE's write to the
//   same file and fit behind them in its buffer, copies them there and rides on that SQE (TryCoalesce). Nothing is
//   submitted yet: a uv_prepare handle, which libuv runs right before it blocks for I/O, hands every SQE prepared
//   during this loop iteration to the kernel in one io_uring_enter (earlier only when the SQ is full). The eventfd
//   wakes the loop, completions are reaped, short writes are resubmitted for the remainder, buffers go back to the
//   pool (which lets waiting requests proceed), and finished requests' callbacks run inside one callback scope, so
//   promise continuations run after all of them and their new writes batch into the next submission.
// Requests that find no free buffer or no CQ room wait, in order, in `waiting_`. An fdatasync is not ordered
// after writes still in flight: callers that need that ordering wait for the writes first (the UringEngine does),
// or ask for a write followed by an fdatasync (a sync callback on writeFixed). A write that fits one SQE then goes
// to the kernel with its fdatasync linked behind it (IOSQE_IO_LINK): the io-wq worker that completes the write
// starts the fdatasync, with no wake-up of this thread in between. When the kernel cancels the link (the write
// failed or was short and is being completed by a resubmission), or the write needs several SQEs, the ring queues
// the fdatasync itself the moment the write's last SQE completes, without a round trip through JS.
#include "write-ring.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "errors.h"

namespace berth {

Ring* g_ring = nullptr;

namespace {

// process.exit() on the main thread runs no environment cleanup hooks, only atexit handlers: still let the kernel
// finish the writes we accepted, so an append acknowledged to nobody yet is at least not half-written by us.
void DrainAtProcessExit() {
  if (g_ring != nullptr) g_ring->DrainKernel();
}

}  // namespace

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
    direct_write_ok_ =
        IORING_OP_WRITE <= probe->last_op && (probe->ops[IORING_OP_WRITE].flags & IO_URING_OP_SUPPORTED) != 0;
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
    if (r->kind == Request::kWrite && direct_min_ > 0 && r->src_len >= direct_min_ && r->scheduled == 0) {
      // Large: no copy. The kernel reads the caller's bytes, which stay referenced (r->data) until completion;
      // the IoEngine contract already forbids changing them before then.
      if (kernel_ops_ >= max_kernel_ops_) return;
      Op* op = new Op{r};
      op->src = r->src;
      op->len = r->src_len;
      op->pos = r->position;
      r->scheduled = r->src_len;
      r->pending++;
      PrepOrLink(op);
      waiting_.pop_front();
      continue;
    }
    if (r->kind == Request::kWrite && r->scheduled == 0 && TryCoalesce(r)) {
      waiting_.pop_front();
      continue;
    }
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
        if (r->scheduled == r->src_len && r->pending == 1) {
          PrepOrLink(op);  // the write's only SQE
        } else {
          PrepOp(op);
        }
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

io_uring_sqe* Ring::PrepOp(Op* op) {
  kernel_ops_++;
  if (prepare_ != nullptr) uv_prepare_start(prepare_, OnPrepare);
  io_uring_sqe* sqe = stalled_.empty() ? q_.GetSqe() : nullptr;
  if (sqe == nullptr && stalled_.empty()) {
    // SQ full: submit what is there now rather than wait for the end of the loop iteration.
    q_.Submit();
    sqe = q_.GetSqe();
  }
  if (sqe == nullptr) {
    // The kernel took nothing (EBUSY/EAGAIN): keep the op, in order, for the next OnPrepare.
    stalled_.push_back(op);
    return nullptr;
  }
  FillSqe(sqe, op, pool_, buffer_size_);
  return sqe;
}

// A small write that starts where the latest write SQE (still unsubmitted, and its request's only one) ends, in
// the same file, with room left in that SQE's pool buffer, is copied behind those bytes and rides on that SQE:
// one kernel write, one io-wq work item and one completion instead of several. On this VM each of those costs a
// wake-up or an interrupt toggle (tens of microseconds), far more than writing 1 KiB, so appends issued together
// (several producers of a partition, or group commit's queue) cost about what one costs. A write with a sync callback
// joins only a write whose fdatasync is linked behind it, which then covers it too; otherwise it takes its own SQEs
// and its own fdatasync, as before.
Op* Ring::JoinableTail(int fd, uint64_t position, size_t len, bool syncs) {
  if (!coalesce_ || tail_op_ == nullptr) return nullptr;
  if (q_.Prepared() != tail_end_ || q_.Unsubmitted() < tail_sqes_ || !stalled_.empty()) {
    tail_op_ = nullptr;  // submitted, or something else went to the SQ after it
    return nullptr;
  }
  Op* t = tail_op_;
  if (t->req->fd != fd || t->done != 0 || t->pos + t->len != position || t->len + len > buffer_size_ ||
      (syncs && tail_sqes_ != 2)) {
    return nullptr;
  }
  return t;
}

bool Ring::TryCoalesce(Request* r) {
  const bool syncs = !r->sync_cb.IsEmpty();
  Op* t = JoinableTail(r->fd, r->position, r->src_len, syncs);
  if (t == nullptr) return false;
  Request* w = t->req;
  memcpy(pool_ + static_cast<size_t>(t->buf) * buffer_size_ + t->len, r->src, r->src_len);
  t->len += r->src_len;
  r->op_end = t->len;
  tail_sqe_->len = static_cast<uint32_t>(t->len);
  r->scheduled = r->src_len;
  r->data.Reset();
  r->src = nullptr;
  if (syncs) {
    // Its fdatasync is the linked one behind the tail, and counts as unwritten until that write completes.
    auto* rs = new Request(Request::kFsync);
    rs->fd = r->fd;
    rs->cb = std::move(r->sync_cb);
    outstanding_++;
    linked_unwritten_++;
    w->linked_sync->riders.push_back(rs);
    w->linked_sync->unwritten_riders++;
    r->rider_sync = rs;
  }
  w->riders.push_back(r);
  coalesced_++;
  return true;
}

// A write's only SQE. With a sync callback, and room for two SQEs side by side now, its fdatasync goes linked
// behind it; otherwise the write goes alone (and FollowWithSync issues the fdatasync from its completion).
void Ring::PrepOrLink(Op* op) {
  Request* w = op->req;
  if (w->sync_cb.IsEmpty() || !linked_sync_ || !stalled_.empty() || kernel_ops_ + 2 > max_kernel_ops_) {
    io_uring_sqe* sqe = PrepOp(op);
    if (sqe != nullptr && op->buf >= 0) SetTail(op, sqe, 1);
    return;
  }
  // Both SQEs must reach the kernel in one submission: a link cut at the end of a submission ends there.
  if (q_.SqSpace() < 2) q_.Submit();
  if (q_.SqSpace() < 2) {
    io_uring_sqe* sqe = PrepOp(op);
    if (sqe != nullptr && op->buf >= 0) SetTail(op, sqe, 1);
    return;
  }
  auto* s = new Request(Request::kFsync);
  s->fd = w->fd;
  s->cb = std::move(w->sync_cb);
  s->linked = true;
  w->linked_sync = s;
  outstanding_++;
  linked_unwritten_++;
  s->pending++;
  kernel_ops_ += 2;
  if (prepare_ != nullptr) uv_prepare_start(prepare_, OnPrepare);
  io_uring_sqe* a = q_.GetSqe();
  FillSqe(a, op, pool_, buffer_size_);
  a->flags |= IOSQE_IO_LINK;
  FillSqe(q_.GetSqe(), new Op{s}, pool_, buffer_size_);
  if (op->buf >= 0) SetTail(op, a, 2);
}

// The write of a linked pair has completed (every byte, or failed). If the kernel already cancelled its
// fdatasync, that one is settled now; if not, it runs (or ran) in the kernel and completes on its own.
void Ring::LinkedWriteDone(Request* w) {
  Request* s = w->linked_sync;
  w->linked_sync = nullptr;
  linked_unwritten_ -= 1 + s->unwritten_riders;
  s->unwritten_riders = 0;
  s->write_done = true;
  s->write_err = w->err;
  s->write_syscall = w->syscall;
  if (s->link_cancelled) SettleCancelledSync(s);
}

// A linked fdatasync the kernel cancelled, once its write has completed: it carries the write's error, or (the
// write was completed by a resubmission) it goes to the kernel again, now behind every byte of the write.
void Ring::SettleCancelledSync(Request* s) {
  s->link_cancelled = false;
  s->linked = false;
  IssueSyncAfterWrite(s, s->write_err, s->write_syscall);
}

// An fdatasync whose write has completed: with the write's error it completes at once without reaching the kernel;
// otherwise it goes now, ahead of anything waiting for a buffer (it needs none, and latency is the point).
void Ring::IssueSyncAfterWrite(Request* s, int write_err, const char* write_syscall) {
  if (write_err != 0) {
    s->err = write_err;
    s->syscall = write_syscall;
    Complete(s);
    return;
  }
  if (kernel_ops_ < max_kernel_ops_ && stalled_.empty()) {
    s->pending++;
    PrepOp(new Op{s});
    if (!env_exiting_) q_.Submit();
  } else {
    waiting_.push_front(s);
  }
}

// The write op failed after writing op->done of its bytes. Its request fails, unless the op carries riders and
// every byte of the request itself was written: then only the riders whose bytes were not all written fail (a
// failed rider's linked fdatasync with it), and those wholly written before the failure succeed, as they would
// have on SQEs of their own.
void Ring::FailWriteOp(Op* op, int err) {
  Request* r = op->req;
  const char* syscall = "io_uring_write_fixed";
  if (r->riders.empty() || op->done < r->src_len) {
    r->err = err;
    r->syscall = syscall;
    return;
  }
  for (Request* x : r->riders) {
    if (op->done >= x->op_end || x->err != 0) continue;
    x->err = err;
    x->syscall = syscall;
    if (x->rider_sync != nullptr) {
      x->rider_sync->err = err;
      x->rider_sync->syscall = syscall;
    }
  }
}

void Ring::FillSqe(io_uring_sqe* sqe, Op* op, uint8_t* pool, size_t buffer_size) {
  Request* r = op->req;
  sqe->fd = r->fd;
  sqe->user_data = reinterpret_cast<uint64_t>(op);
  switch (r->kind) {
    case Request::kWrite:
      if (op->buf < 0) {
        sqe->opcode = IORING_OP_WRITE;
        sqe->addr = reinterpret_cast<uint64_t>(op->src + op->done);
        // At most 1 GiB per SQE (the kernel caps a write near 2 GiB anyway); the rest goes as a short write's.
        sqe->len = static_cast<uint32_t>(std::min<size_t>(op->len - op->done, size_t{1} << 30));
        sqe->off = op->pos + op->done;
        break;
      }
      sqe->opcode = IORING_OP_WRITE_FIXED;
      sqe->addr = reinterpret_cast<uint64_t>(pool + static_cast<size_t>(op->buf) * buffer_size + op->done);
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
}

void Ring::Reap(bool call_js) {
  io_uring_cqe* cqe;
  while ((cqe = q_.PeekCqe()) != nullptr) {
    Op* op = reinterpret_cast<Op*>(cqe->user_data);
    const int res = cqe->res;
    q_.CqeSeen();
    kernel_ops_--;
    if (op == tail_op_) tail_op_ = nullptr;
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
        // A zero-byte write counts as EIO: it would otherwise loop forever.
        FailWriteOp(op, res < 0 ? -res : EIO);
      }
      if (op->buf >= 0) free_bufs_.push_back(op->buf);
    } else if (res == -ECANCELED && r->linked) {
      // Linked behind a write that failed or was short: settled once that write has completed.
      delete op;
      r->pending--;
      r->link_cancelled = true;
      if (r->write_done) SettleCancelledSync(r);
      continue;
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

// The write `w` is complete: its sync callback moves to a new fdatasync request, issued now when the write
// succeeded (so it covers the write), or completed with the write's error without reaching the kernel.
void Ring::FollowWithSync(Request* w) {
  auto* r = new Request(Request::kFsync);
  r->fd = w->fd;
  r->cb = std::move(w->sync_cb);
  outstanding_++;
  IssueSyncAfterWrite(r, w->err, w->syscall);
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
  ring->SubmitAll();
  // On a transient failure (EAGAIN/EBUSY) the entries stay in the SQ and the next iteration tries again.
  if (ring->q_.Unsubmitted() == 0 && ring->stalled_.empty()) uv_prepare_stop(h);
}

void Ring::SubmitAll() {
  q_.Submit();
  size_t i = 0;
  for (; i < stalled_.size(); i++) {
    io_uring_sqe* sqe = q_.GetSqe();
    if (sqe == nullptr) {
      if (q_.Submit() <= 0) break;
      sqe = q_.GetSqe();
      if (sqe == nullptr) break;
    }
    FillSqe(sqe, stalled_[i], pool_, buffer_size_);
  }
  stalled_.erase(stalled_.begin(), stalled_.begin() + static_cast<std::ptrdiff_t>(i));
  q_.Submit();
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

// Includes requests still queued for a buffer.
void Ring::DrainKernel() {
  while (outstanding_ > 0 && q_.IsOpen()) {
    Pump();
    if (kernel_ops_ == 0) break;  // nothing the kernel could still complete
    SubmitAll();
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

}  // namespace berth

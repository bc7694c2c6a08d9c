// The write ring's engine: requests (WRITE_FIXED, FSYNC, FALLOCATE), the registered buffer pool, submission
// batching and completion delivery. The JS bindings are in ring.cc.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <vector>

#include "uring.h"

namespace berth {

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
  // Write then fdatasync: called once an fdatasync the ring issued itself, as soon as this write's last SQE
  // completed (no round trip through JS), has completed. Empty for a plain write.
  Napi::FunctionReference sync_cb;
  // A write whose fdatasync went to the kernel linked behind it (IOSQE_IO_LINK): that fdatasync request.
  Request* linked_sync = nullptr;
  // An fdatasync linked behind a write: the kernel cancelled it (the write failed or was short), and whether that
  // write has completed since, with what error. Both known: it fails with the write's error, or is issued again.
  bool linked = false;
  bool link_cancelled = false;
  bool write_done = false;
  int write_err = 0;
  const char* write_syscall = "";
  // Requests whose bytes the kernel writes (or whose fdatasync it does) as part of this one's SQE (Ring::TryCoalesce):
  // they complete with it, right after it, with its outcome.
  std::vector<Request*> riders;
  // A rider write: where its bytes end in the SQE it rides on, and its fdatasync riding on that SQE's linked one.
  size_t op_end = 0;
  Request* rider_sync = nullptr;
  // A linked fdatasync: riders' fdatasyncs counted in Ring::linked_unwritten_ until its write completes.
  unsigned unwritten_riders = 0;
};

// One SQE's worth of work. For a write: one pool buffer holding bytes [pos, pos+len) of the file, or (buf -1) the
// caller's own bytes at `src`, written with IORING_OP_WRITE without a copy (large writes, see direct_min_).
struct Op {
  Request* req;
  int buf = -1;
  const uint8_t* src = nullptr;
  size_t len = 0;
  size_t done = 0;
  uint64_t pos = 0;
};


class Ring {
 public:
  Ring(napi_env env, uint32_t id) : env_(env), id_(id) {}

  int Open(unsigned entries, unsigned buffer_count, size_t buffer_size, const char** syscall);
  // Writes of at least `bytes` go straight from the caller's memory (0: never). Ignored without IORING_OP_WRITE.
  void set_direct_min(size_t bytes) { direct_min_ = direct_write_ok_ ? bytes : 0; }
  // A write with a sync callback goes to the kernel as a linked write + fdatasync pair when it fits one SQE.
  void set_linked_sync(bool on) { linked_sync_ = on; }
  // Small writes that continue the latest unsubmitted write to the same file join its SQE (TryCoalesce).
  void set_coalesce(bool on) { coalesce_ = on; }
  bool coalesce() const { return coalesce_; }
  // Writes that joined another write's SQE instead of taking their own.
  double coalesced() const { return coalesced_; }
  bool linked_sync() const { return linked_sync_; }
  size_t direct_min() const { return direct_min_; }
  // Whether a write with a sync callback of `len` bytes at `position` of `fd` could join the latest write SQE now
  // (Join): checked before the caller builds the request, since most attempts find nothing to join.
  bool Joinable(int fd, uint64_t position, size_t len) {
    return waiting_.empty() && JoinableTail(fd, position, len, true) != nullptr;
  }
  // Joins `r` (a write with a sync callback) to the latest write SQE if that one has its fdatasync linked behind it
  // and `r` continues it (TryCoalesce); true when it did. Otherwise nothing happens and the caller keeps `r`.
  bool Join(Request* r) {
    if (!waiting_.empty() || !TryCoalesce(r)) return false;
    outstanding_++;
    UpdateRef();
    return true;
  }
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
  // Requests accepted and not completed; a write with its fdatasync counts once until the write completes, however
  // the fdatasync is issued.
  size_t outstanding() const { return outstanding_ - linked_unwritten_; }
  size_t buffer_size() const { return buffer_size_; }
  const Uring& queue() const { return q_; }

  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  // Completes accepted requests as far as the kernel goes, without JS (environment or process going away).
  void DrainKernel();
  // Frees what a failed Open() built (no handles exist yet then).
  void AbortOpen() {
    ReleaseKernelResources();
    delete this;
  }

 private:
  void Pump();
  io_uring_sqe* PrepOp(Op* op);
  // The latest write SQE, still unsubmitted, that bytes [position, position+len) of `fd` continue and fit behind
  // (with `syncs`, one whose fdatasync is linked behind it), or nullptr.
  Op* JoinableTail(int fd, uint64_t position, size_t len, bool syncs);
  bool TryCoalesce(Request* r);
  void FailWriteOp(Op* op, int err);
  void SetTail(Op* op, io_uring_sqe* sqe, unsigned sqes) {
    tail_op_ = op;
    tail_sqe_ = sqe;
    tail_sqes_ = sqes;
    tail_end_ = q_.Prepared();
  }
  static void FillSqe(io_uring_sqe* sqe, Op* op, uint8_t* pool, size_t buffer_size);
  void Reap(bool call_js);
  void Complete(Request* r) {
    outstanding_--;
    done_.push_back(r);
    if (!r->sync_cb.IsEmpty()) FollowWithSync(r);  // after the write's own callback, in delivery order
    if (r->linked_sync != nullptr) LinkedWriteDone(r);
    std::vector<Request*> riders;
    riders.swap(r->riders);
    for (Request* x : riders) {
      if (x->err == 0 && r->err != 0) {
        x->err = r->err;
        x->syscall = r->syscall;
      }
      Complete(x);
    }
  }
  void FollowWithSync(Request* r);
  void PrepOrLink(Op* op);
  void LinkedWriteDone(Request* w);
  void SettleCancelledSync(Request* s);
  void IssueSyncAfterWrite(Request* s, int write_err, const char* write_syscall);
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
  void SubmitAll();

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
  size_t direct_min_ = 0;
  bool direct_write_ok_ = false;
  bool linked_sync_ = true;
  bool coalesce_ = true;
  double coalesced_ = 0;
  // The latest write SQE that later small writes may join: its op, the SQE, Prepared() right after it (and its
  // linked fdatasync, if any), and whether that fdatasync follows it (2 SQEs) or not (1).
  Op* tail_op_ = nullptr;
  io_uring_sqe* tail_sqe_ = nullptr;
  unsigned tail_end_ = 0;
  unsigned tail_sqes_ = 0;
  std::vector<int> free_bufs_;
  std::deque<Request*> waiting_;
  std::vector<Op*> stalled_;  // ops that found the SQ full even after a submit; OnPrepare retries them
  std::vector<Request*> done_;
  unsigned kernel_ops_ = 0;      // SQEs prepared or submitted and not yet reaped
  unsigned max_kernel_ops_ = 0;  // never more than the CQ holds
  size_t outstanding_ = 0;       // requests accepted whose callback has not been queued
  size_t linked_unwritten_ = 0;  // linked fdatasyncs (in outstanding_) whose write has not completed
  bool closing_ = false;
  bool tearing_down_ = false;
  bool env_exiting_ = false;
  napi_async_cleanup_hook_handle cleanup_handle_ = nullptr;
  Napi::FunctionReference close_cb_;
  napi_async_context async_ctx_ = nullptr;
};

// The process's ring (one per process), or nullptr.
extern Ring* g_ring;

}  // namespace berth

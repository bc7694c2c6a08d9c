// A minimal io_uring queue on raw syscalls: setup, the three mmaps, SQE allocation, submission and CQE reaping.
// No liburing: the kernel header's structs and offsets are all this needs. Single-threaded by design (the JS
// thread owns the ring), so the only ordering that matters is against the kernel, through acquire/release on the
// shared head and tail indices.
#pragma once

#include <linux/io_uring.h>
#include <sys/uio.h>

#include <cstdint>

namespace berth {

class Uring {
 public:
  Uring() = default;
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;
  ~Uring() { Close(); }

  // Creates the ring with at least `entries` SQ slots. Returns 0 or -errno.
  int Setup(unsigned entries);
  // Unmaps the rings and closes the ring fd (which also drops registered buffers and the eventfd).
  void Close();
  bool IsOpen() const { return ring_fd_ >= 0; }

  // A zeroed SQE, or nullptr when every SQ slot holds an unsubmitted entry.
  io_uring_sqe* GetSqe();
  // SQEs prepared but not yet handed to the kernel.
  unsigned Unsubmitted() const { return local_tail_ - Acquire(sq_head_); }
  // SQEs handed out by GetSqe so far (wraps): a new SQE changes it, so it tells whether one is still the latest.
  unsigned Prepared() const { return local_tail_; }
  // Free SQ slots.
  unsigned SqSpace() const { return sq_entries_ - (local_tail_ - Acquire(sq_head_)); }
  // Hands every prepared SQE to the kernel; waits for `wait_nr` completions when non-zero.
  // Returns the number submitted or -errno (EINTR is retried inside).
  int Submit(unsigned wait_nr = 0);

  // The next completion, or nullptr; call CqeSeen() after consuming it.
  io_uring_cqe* PeekCqe();
  void CqeSeen();

  int Register(unsigned opcode, const void* arg, unsigned nr_args);

  unsigned sq_entries() const { return sq_entries_; }
  unsigned cq_entries() const { return cq_entries_; }
  unsigned features() const { return features_; }
  // io_uring_enter calls that submitted, and SQEs they carried: lets tests and benchmarks see the batching.
  double enters() const { return enters_; }
  double submitted() const { return submitted_; }

 private:
  static unsigned Acquire(const unsigned* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
  static void Release(unsigned* p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

  int ring_fd_ = -1;
  double enters_ = 0;
  double submitted_ = 0;
  unsigned features_ = 0;
  void* sq_map_ = nullptr;
  size_t sq_map_len_ = 0;
  void* cq_map_ = nullptr;  // equal to sq_map_ with IORING_FEAT_SINGLE_MMAP
  size_t cq_map_len_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqes_len_ = 0;

  unsigned* sq_head_ = nullptr;
  unsigned* sq_tail_ = nullptr;
  unsigned* sq_array_ = nullptr;
  unsigned sq_mask_ = 0;
  unsigned sq_entries_ = 0;
  unsigned local_tail_ = 0;  // SQEs handed out by GetSqe; published to *sq_tail_ by Submit

  unsigned* cq_head_ = nullptr;
  unsigned* cq_tail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
  unsigned cq_mask_ = 0;
  unsigned cq_entries_ = 0;
};

// Raw syscall wrappers (glibc has none for io_uring).
int SysIoUringSetup(unsigned entries, io_uring_params* p);
int SysIoUringEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags);
int SysIoUringRegister(int fd, unsigned opcode, const void* arg, unsigned nr_args);

// True when BERTH_DISABLE_IO_URING=1 asks us to behave as if the kernel refused io_uring.
bool IoUringDisabledByEnv();

}  // namespace berth

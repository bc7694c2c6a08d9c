#include "uring.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace berth {

int SysIoUringSetup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}

int SysIoUringEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

int SysIoUringRegister(int fd, unsigned opcode, const void* arg, unsigned nr_args) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, nr_args));
}

bool IoUringDisabledByEnv() {
  const char* v = getenv("BERTH_DISABLE_IO_URING");
  return v != nullptr && v[0] != '\0' && strcmp(v, "0") != 0;
}

template <typename T>
static T* At(void* base, unsigned offset) {
  return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
}

int Uring::Setup(unsigned entries) {
  io_uring_params p;
  memset(&p, 0, sizeof p);
  // SUBMIT_ALL (5.18) keeps submitting past an SQE that fails early; older kernels reject the flag, so retry bare.
  p.flags = IORING_SETUP_SUBMIT_ALL;
  int fd = SysIoUringSetup(entries, &p);
  if (fd < 0 && errno == EINVAL) {
    memset(&p, 0, sizeof p);
    fd = SysIoUringSetup(entries, &p);
  }
  if (fd < 0) return -errno;
  ring_fd_ = fd;
  features_ = p.features;

  sq_map_len_ = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  cq_map_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cq_map_len_ > sq_map_len_) sq_map_len_ = cq_map_len_;

  sq_map_ = mmap(nullptr, sq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (sq_map_ == MAP_FAILED) {
    sq_map_ = nullptr;
    int err = errno;
    Close();
    return -err;
  }
  if (single) {
    cq_map_ = sq_map_;
    cq_map_len_ = 0;  // owned by sq_map_
  } else {
    cq_map_ = mmap(nullptr, cq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
    if (cq_map_ == MAP_FAILED) {
      cq_map_ = nullptr;
      int err = errno;
      Close();
      return -err;
    }
  }
  sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    int err = errno;
    Close();
    return -err;
  }
  sqes_ = static_cast<io_uring_sqe*>(sqes);

  sq_head_ = At<unsigned>(sq_map_, p.sq_off.head);
  sq_tail_ = At<unsigned>(sq_map_, p.sq_off.tail);
  sq_mask_ = *At<unsigned>(sq_map_, p.sq_off.ring_mask);
  sq_entries_ = *At<unsigned>(sq_map_, p.sq_off.ring_entries);
  sq_array_ = At<unsigned>(sq_map_, p.sq_off.array);
  local_tail_ = *sq_tail_;

  cq_head_ = At<unsigned>(cq_map_, p.cq_off.head);
  cq_tail_ = At<unsigned>(cq_map_, p.cq_off.tail);
  cq_mask_ = *At<unsigned>(cq_map_, p.cq_off.ring_mask);
  cq_entries_ = *At<unsigned>(cq_map_, p.cq_off.ring_entries);
  cqes_ = At<io_uring_cqe>(cq_map_, p.cq_off.cqes);
  return 0;
}

void Uring::Close() {
  if (sqes_ != nullptr) munmap(sqes_, sqes_len_);
  if (cq_map_ != nullptr && cq_map_ != sq_map_) munmap(cq_map_, cq_map_len_);
  if (sq_map_ != nullptr) munmap(sq_map_, sq_map_len_);
  sqes_ = nullptr;
  cq_map_ = nullptr;
  sq_map_ = nullptr;
  if (ring_fd_ >= 0) close(ring_fd_);
  ring_fd_ = -1;
}

io_uring_sqe* Uring::GetSqe() {
  if (local_tail_ - Acquire(sq_head_) >= sq_entries_) return nullptr;
  const unsigned index = local_tail_ & sq_mask_;
  io_uring_sqe* sqe = &sqes_[index];
  memset(sqe, 0, sizeof *sqe);
  sq_array_[index] = index;
  local_tail_++;
  return sqe;
}

int Uring::Submit(unsigned wait_nr) {
  // Publish the prepared entries; the kernel reads the SQE contents after this release.
  Release(sq_tail_, local_tail_);
  int total = 0;
  for (;;) {
    const unsigned pending = local_tail_ - Acquire(sq_head_);
    if (pending == 0 && wait_nr == 0) return total;
    const unsigned flags = wait_nr > 0 ? IORING_ENTER_GETEVENTS : 0;
    const int n = SysIoUringEnter(ring_fd_, pending, wait_nr, flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      return total > 0 ? total : -errno;
    }
    total += n;
    if (pending > 0) enters_++;
    submitted_ += n;
    wait_nr = 0;
    // Without SUBMIT_ALL the kernel stops at an SQE that fails early; its CQE carries the error and the rest of
    // the entries are still in the ring, so go round again. No progress at all means the kernel is out of room.
    if (n == 0) return total;
  }
}

io_uring_cqe* Uring::PeekCqe() {
  const unsigned head = *cq_head_;
  if (head == Acquire(cq_tail_)) return nullptr;
  return &cqes_[head & cq_mask_];
}

void Uring::CqeSeen() { Release(cq_head_, *cq_head_ + 1); }

int Uring::Register(unsigned opcode, const void* arg, unsigned nr_args) {
  int r = SysIoUringRegister(ring_fd_, opcode, arg, nr_args);
  return r < 0 ? -errno : r;
}

}  // namespace berth

// One sendRanges call: a response's header bytes, then byte ranges of files, written to a socket in order. The JS
// thread starts it; what it cannot finish at once goes on to the send thread (send-thread.h).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace berth {

struct SendRange {
  int fd;
  uint64_t offset;
  uint64_t length;
};

struct SendJob {
  int sock = -1;
  Napi::ObjectReference head;  // keeps head_ptr's memory alive until the job is done (released on the JS thread)
  const uint8_t* head_ptr = nullptr;
  size_t head_len = 0;
  size_t head_done = 0;
  std::vector<SendRange> ranges;
  size_t index = 0;         // current range
  uint64_t range_done = 0;  // bytes of the current range sent
  double total = 0;
  int err = 0;
  const char* syscall = "";
  Napi::FunctionReference cb;
  // On the send thread: sock and every range fd are the job's own duplicates (closed when it ends), so that the JS
  // side closing its descriptors can never point a send at a file or socket that reused the number.
  bool owns_fds = false;
  bool armed = false;  // registered in the send thread's epoll set

  size_t Remaining() const;
};

enum class Step {
  kDone,      // everything sent, or failed (err set)
  kWritable,  // the socket is full: wait until it is writable
  kBudget,    // `budget` bytes sent this turn; more to send
};

// Sends until done, an error, a full socket, or `budget` bytes sent.
Step Pump(SendJob* job, size_t budget);

}  // namespace berth

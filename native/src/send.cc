// The socket belongs to libuv (a net.Socket), so it is non-blocking. sendfile(2) is used rather than splice through a
// pipe: it is zero-copy too, needs no pipe per connection, and measured faster on our machines (MACHINE.md).
//
// A small job (up to kInlineMax bytes: the header and a few batches, what a consumer that keeps up gets) is sent
// right here on the JS thread, which costs less than a hand-off; if it finishes, the caller calls back on a
// microtask. Anything larger, and a small job whose socket fills up, goes to the send thread (send-thread.h): a
// catch-up fetch of several megabytes takes milliseconds of sendfile, which the event loop would otherwise spend
// instead of answering every other client (bench/results-broker.md, session 12).
#include "send.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "errors.h"
#include "send-thread.h"

namespace berth {
namespace {

constexpr size_t kInlineMax = 64u << 10;
constexpr size_t kMaxSendfile = 0x7ffff000;  // the kernel's cap on one transfer

bool ArgInt(const Napi::Value& v, int* out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) return false;
  *out = static_cast<int>(d);
  return true;
}

}  // namespace

size_t SendJob::Remaining() const {
  size_t n = head_len - head_done;
  for (size_t i = index; i < ranges.size(); i++) n += ranges[i].length - (i == index ? range_done : 0);
  return n;
}

Step Pump(SendJob* job, size_t budget) {
  while (job->head_done < job->head_len) {
    // MSG_MORE: let the kernel put the header in the same segment as the first file bytes.
    const int more = job->ranges.empty() ? 0 : MSG_MORE;
    const ssize_t n = send(job->sock, job->head_ptr + job->head_done, job->head_len - job->head_done,
                           MSG_NOSIGNAL | MSG_DONTWAIT | more);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::kWritable;
      job->err = errno;
      job->syscall = "send";
      return Step::kDone;
    }
    job->head_done += static_cast<size_t>(n);
    job->total += static_cast<double>(n);
  }
  while (job->index < job->ranges.size()) {
    const SendRange& r = job->ranges[job->index];
    if (job->range_done == r.length) {
      job->index++;
      job->range_done = 0;
      continue;
    }
    if (budget == 0) return Step::kBudget;
    uint64_t want = r.length - job->range_done;
    if (want > kMaxSendfile) want = kMaxSendfile;
    if (want > budget) want = budget;
    off_t off = static_cast<off_t>(r.offset + job->range_done);
    const ssize_t n = sendfile(job->sock, r.fd, &off, static_cast<size_t>(want));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Step::kWritable;
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

// sendRanges(socketFd, head: Uint8Array | null, ranges: Float64Array [fd, offset, length]*, cb)
//   -> undefined when the job continues in the background (cb is called later), or
//   -> { error: NativeError | null, bytesSent, noSendThread? } when it finished in this call (cb is not called);
//      noSendThread: the send thread could not be started, and nothing after bytesSent was sent.
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
    job->ranges.push_back(SendRange{static_cast<int>(fd), static_cast<uint64_t>(off), static_cast<uint64_t>(len)});
  }

  const bool small = job->Remaining() <= kInlineMax;
  bool no_thread = false;
  if (!small || Pump(job, kInlineMax) != Step::kDone) {
    // Keep the head bytes and the callback until the send thread is done with the job.
    if (job->head_done < job->head_len) job->head = Napi::Persistent(info[1].As<Napi::Object>());
    job->cb = Napi::Persistent(info[3].As<Napi::Function>());
    const char* syscall = "";
    const int err = HandToSendThread(env, job, &syscall, &no_thread);
    if (err == 0) return env.Undefined();
    job->err = err;
    job->syscall = syscall;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("error", job->err != 0 ? MakeNativeError(env, job->err, job->syscall).Value() : env.Null());
  result.Set("bytesSent", Napi::Number::New(env, job->total));
  // The caller may go on with the unsent rest another way (bytesSent says where it starts).
  if (no_thread) result.Set("noSendThread", Napi::Boolean::New(env, true));
  delete job;
  return result;
}

}  // namespace berth

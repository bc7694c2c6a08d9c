// Errors crossing into JS are plain Error objects with {code, errno, syscall} (NativeError in native/index.ts).
// Nothing native throws a C++ exception: failures are returned, then thrown or passed to a callback as values.
#pragma once

#include <napi.h>

namespace berth {

// 'EBADF' for EBADF, and so on; "E<number>" for an errno this libc cannot name.
const char* ErrnoCode(int err);

// An Error with code (errno's name), errno (positive, as in os.constants.errno) and syscall.
Napi::Error MakeNativeError(Napi::Env env, int err, const char* syscall);

// Throws MakeNativeError into JS; the caller returns right after.
void ThrowNativeError(Napi::Env env, int err, const char* syscall);

// Throws a TypeError/RangeError for bad arguments (the JS wrapper validates first; this is the backstop).
void ThrowTypeError(Napi::Env env, const char* message);

// The same error built with the C API; nullptr when the environment cannot make objects any more.
napi_value MakeNativeErrorRaw(napi_env env, int err, const char* syscall);

// Calls JS callbacks from a libuv callback. Uses the C API and tolerates an environment that is shutting down
// (a worker being terminated runs the loop once more after JS is gone): then callbacks are silently skipped,
// where node-addon-api would abort the process. A callback that throws becomes an uncaught exception.
class JsCallScope {
 public:
  JsCallScope(napi_env env, napi_async_context ctx);
  ~JsCallScope();
  JsCallScope(const JsCallScope&) = delete;
  JsCallScope& operator=(const JsCallScope&) = delete;
  bool ok() const { return ok_; }
  void Call(napi_ref fn, size_t argc, const napi_value* argv);
  napi_value Null();
  napi_value Number(double v);
  napi_value Error(int err, const char* syscall);

 private:
  napi_env env_;
  napi_handle_scope handles_ = nullptr;
  napi_callback_scope callback_ = nullptr;
  bool ok_ = false;
};

}  // namespace berth

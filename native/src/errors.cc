#include "errors.h"

#include <errno.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace berth {

const char* ErrnoCode(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#else
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case ENOSYS: return "ENOSYS";
    case ENODATA: return "ENODATA";
    case ENOTSOCK: return "ENOTSOCK";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ECONNRESET: return "ECONNRESET";
    case ENOTCONN: return "ENOTCONN";
    case ECANCELED: return "ECANCELED";
    default: break;
  }
#endif
  static thread_local char buf[16];
  snprintf(buf, sizeof buf, "E%d", err);
  return buf;
}

napi_value MakeNativeErrorRaw(napi_env env, int err, const char* syscall) {
  const char* code = ErrnoCode(err);
  const std::string message = std::string(code) + ": " + strerror(err) + ", " + syscall;
  napi_value code_v, msg_v, errno_v, syscall_v, error;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok ||
      napi_create_string_utf8(env, message.c_str(), message.size(), &msg_v) != napi_ok ||
      napi_create_int32(env, err, &errno_v) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v) != napi_ok ||
      napi_create_error(env, code_v, msg_v, &error) != napi_ok) {
    return nullptr;
  }
  napi_set_named_property(env, error, "errno", errno_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  return error;
}

Napi::Error MakeNativeError(Napi::Env env, int err, const char* syscall) {
  napi_value e = MakeNativeErrorRaw(env, err, syscall);
  return e != nullptr ? Napi::Error(env, e) : Napi::Error::New(env, "native error");
}

void ThrowNativeError(Napi::Env env, int err, const char* syscall) {
  MakeNativeError(env, err, syscall).ThrowAsJavaScriptException();
}

void ThrowTypeError(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
}

JsCallScope::JsCallScope(napi_env env, napi_async_context ctx) : env_(env) {
  if (napi_open_handle_scope(env, &handles_) != napi_ok) {
    handles_ = nullptr;
    return;
  }
  napi_value resource;
  if (napi_create_object(env, &resource) != napi_ok) return;
  // One callback scope for a whole batch: microtasks (promise continuations) run once, after every callback.
  if (napi_open_callback_scope(env, resource, ctx, &callback_) != napi_ok) {
    callback_ = nullptr;
    return;
  }
  ok_ = true;
}

JsCallScope::~JsCallScope() {
  if (callback_ != nullptr) napi_close_callback_scope(env_, callback_);
  if (handles_ != nullptr) napi_close_handle_scope(env_, handles_);
}

void JsCallScope::Call(napi_ref fn_ref, size_t argc, const napi_value* argv) {
  if (!ok_ || fn_ref == nullptr) return;
  napi_value fn, recv;
  if (napi_get_reference_value(env_, fn_ref, &fn) != napi_ok || fn == nullptr) return;
  if (napi_get_undefined(env_, &recv) != napi_ok) return;
  if (napi_call_function(env_, recv, fn, argc, argv, nullptr) == napi_ok) return;
  // Either the callback threw (report it as uncaught, as Node does for its own callbacks) or JS can no longer run
  // (no exception is pending then, and there is nobody left to tell).
  bool pending = false;
  napi_is_exception_pending(env_, &pending);
  if (!pending) return;
  napi_value exception;
  if (napi_get_and_clear_last_exception(env_, &exception) == napi_ok) napi_fatal_exception(env_, exception);
}

napi_value JsCallScope::Null() {
  napi_value v = nullptr;
  napi_get_null(env_, &v);
  return v;
}

napi_value JsCallScope::Number(double d) {
  napi_value v = nullptr;
  if (napi_create_double(env_, d, &v) != napi_ok) return Null();
  return v;
}

napi_value JsCallScope::Error(int err, const char* syscall) {
  napi_value v = MakeNativeErrorRaw(env_, err, syscall);
  return v != nullptr ? v : Null();
}

}  // namespace berth

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

// After calling into JS from a libuv callback: a callback that threw becomes an uncaught exception.
void RaisePendingException(Napi::Env env);

}  // namespace berth

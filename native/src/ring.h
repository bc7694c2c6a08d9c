// The process's io_uring for storage writes (createRing): a pool of registered buffers, WRITE_FIXED appends,
// FSYNC (datasync) and FALLOCATE, with completions delivered on the JS thread through a libuv poll on the ring's
// eventfd.
#pragma once

#include <napi.h>

namespace berth {

Napi::Value CreateRing(const Napi::CallbackInfo& info);

}  // namespace berth

// Synchronous file helpers: fallocate(2) and read-only memory maps of sealed segments and their indexes.
#pragma once

#include <napi.h>

namespace berth {

Napi::Value FallocateSync(const Napi::CallbackInfo& info);
Napi::Value MmapReadOnly(const Napi::CallbackInfo& info);

}  // namespace berth

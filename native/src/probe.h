// probe(): what this kernel and CPU let the data plane use, and why not when they do not.
#pragma once

#include <napi.h>

namespace berth {

Napi::Value Probe(const Napi::CallbackInfo& info);

}  // namespace berth

// Berth's native data plane: the addon's entry point. Linux only (binding.gyp builds nothing elsewhere).
#include <napi.h>

#include "crc32c.h"
#include "files.h"
#include "probe.h"
#include "ring.h"
#include "send-thread.h"
#include "send.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("probe", Napi::Function::New(env, berth::Probe, "probe"));
  exports.Set("crc32c", Napi::Function::New(env, berth::Crc32cBinding, "crc32c"));
  exports.Set("crc32cWith", Napi::Function::New(env, berth::Crc32cWithBinding, "crc32cWith"));
  exports.Set("createRing", Napi::Function::New(env, berth::CreateRing, "createRing"));
  exports.Set("fallocateSync", Napi::Function::New(env, berth::FallocateSync, "fallocateSync"));
  exports.Set("mmapReadOnly", Napi::Function::New(env, berth::MmapReadOnly, "mmapReadOnly"));
  exports.Set("sendRanges", Napi::Function::New(env, berth::SendRanges, "sendRanges"));
  exports.Set("shutdownSocket", Napi::Function::New(env, berth::ShutdownSocket, "shutdownSocket"));
  return exports;
}

NODE_API_MODULE(berth_native, Init)

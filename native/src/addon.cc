// Berth's native data plane: the addon's entry point. Each subsystem registers its exports here.
#include <napi.h>

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(berth_native, Init)

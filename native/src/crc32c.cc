#include "crc32c.h"

#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define BERTH_CRC_X86 1
#endif

namespace berth {
namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // reflected Castagnoli polynomial

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int j = 0; j < 8; j++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = t[0][i];
      for (int k = 1; k < 8; k++) {
        c = t[0][c & 0xff] ^ (c >> 8);
        t[k][i] = c;
      }
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

// `state` is the inverted running value (as the hardware instruction keeps it).
uint32_t Software(uint32_t state, const uint8_t* p, size_t n) {
  const auto& t = GetTables().t;
  while (n >= 8) {
    uint32_t lo;
    memcpy(&lo, p, 4);  // little-endian hosts only (x86-64, arm64)
    lo ^= state;
    state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[4]] ^
            t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) state = t[0][(state ^ *p++) & 0xff] ^ (state >> 8);
  return state;
}

// The crc32 instruction has a latency of three cycles but issues one per cycle, so one dependent chain uses a third
// of it. Long inputs are cut into blocks of three stripes, each stripe checksummed by its own chain, and the three
// register values joined: for a raw register, crc(x, A||B) = shift(crc(x, A), |B|) ^ crc(0, B), where shift feeds
// |B| zero bytes through the register. Shifting is linear over GF(2), so it is a table lookup per byte of the
// register, built once from the 32 single-bit inputs.
constexpr size_t kStripe = 1024;

uint32_t FeedZeros(uint32_t state, size_t n) {
  const auto& t0 = GetTables().t[0];
  while (n-- > 0) state = t0[state & 0xff] ^ (state >> 8);
  return state;
}

struct ShiftTable {
  uint32_t t[4][256];
  explicit ShiftTable(size_t nbytes) {
    uint32_t basis[32];
    for (int i = 0; i < 32; i++) basis[i] = FeedZeros(1u << i, nbytes);
    for (int k = 0; k < 4; k++) {
      for (uint32_t b = 0; b < 256; b++) {
        uint32_t v = 0;
        for (int j = 0; j < 8; j++) {
          if ((b >> j) & 1) v ^= basis[8 * k + j];
        }
        t[k][b] = v;
      }
    }
  }
  uint32_t operator()(uint32_t x) const {
    return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
  }
};

const ShiftTable& StripeShift() {
  static const ShiftTable table(kStripe);
  return table;
}

#ifdef BERTH_CRC_X86
__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t state, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  if (n >= 3 * kStripe) {
    const ShiftTable& shift = StripeShift();
    do {
      uint64_t a = state, b = 0, c = 0;
      for (size_t i = 0; i < kStripe; i += 8) {
        uint64_t va, vb, vc;
        memcpy(&va, p + i, 8);
        memcpy(&vb, p + kStripe + i, 8);
        memcpy(&vc, p + 2 * kStripe + i, 8);
        a = _mm_crc32_u64(a, va);
        b = _mm_crc32_u64(b, vb);
        c = _mm_crc32_u64(c, vc);
      }
      state = shift(shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(c);
      p += 3 * kStripe;
      n -= 3 * kStripe;
    } while (n >= 3 * kStripe);
  }
#endif
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    state = _mm_crc32_u8(state, *p++);
    n--;
  }
#if defined(__x86_64__)
  uint64_t s64 = state;
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    s64 = _mm_crc32_u64(s64, v);
    p += 8;
    n -= 8;
  }
  state = static_cast<uint32_t>(s64);
#endif
  while (n >= 4) {
    uint32_t v;
    memcpy(&v, p, 4);
    state = _mm_crc32_u32(state, v);
    p += 4;
    n -= 4;
  }
  while (n-- > 0) state = _mm_crc32_u8(state, *p++);
  return state;
}
#endif

#ifdef BERTH_CRC_X86
const bool kHardware = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}();
#else
constexpr bool kHardware = false;
#endif

#if defined(__x86_64__)
const bool kClmul512 = kHardware && crc32c_detail::Clmul512Supported();
const bool kClmul256 = kHardware && crc32c_detail::Clmul256Supported();

// The folding loop needs 256 bytes (four registers). At 256 bytes it already takes about half the time of the crc32
// instruction, whose single dependency chain below 3 KiB does 8 bytes per 3 cycles (native/README.md has figures),
// so the threshold is the loop's minimum. Loads are unaligned: starting at a 64-byte boundary (the head through the
// crc32 instruction) measured no faster on Zen 4 at 1 MiB and slower below 2 KiB.
constexpr size_t kClmulMinBytes = 256;

// Whole registers (`kRegBytes`: 64 or 32) are folded by `Fold`; the tail goes through the crc32 instruction. The
// 256-bit loop could start at 128 bytes, but its setup costs about what the 512-bit one's does, so both start at
// the same threshold.
template <size_t kRegBytes, uint32_t (*Fold)(uint32_t, const uint8_t*, size_t)>
__attribute__((target("sse4.2"))) uint32_t FoldThenHardware(uint32_t state, const uint8_t* p, size_t n) {
  if (n >= kClmulMinBytes) {
    const size_t body = n & ~(kRegBytes - 1);
    state = Fold(state, p, body);
    p += body;
    n -= body;
  }
  return Hardware(state, p, n);
}

uint32_t Clmul512(uint32_t state, const uint8_t* p, size_t n) {
  return FoldThenHardware<64, crc32c_detail::FoldClmul512>(state, p, n);
}

uint32_t Clmul256(uint32_t state, const uint8_t* p, size_t n) {
  return FoldThenHardware<32, crc32c_detail::FoldClmul256>(state, p, n);
}
#else
constexpr bool kClmul512 = false;
constexpr bool kClmul256 = false;
#endif

// Every path takes and returns the raw (inverted) register.
using Impl = uint32_t (*)(uint32_t state, const uint8_t* p, size_t n);

Impl ImplFor(Crc32cPath path) {
  switch (path) {
#if defined(__x86_64__)
    case Crc32cPath::kClmul512:
      return kClmul512 ? Clmul512 : nullptr;
    case Crc32cPath::kClmul256:
      return kClmul256 ? Clmul256 : nullptr;
#endif
#ifdef BERTH_CRC_X86
    case Crc32cPath::kSse42:
      return kHardware ? Hardware : nullptr;
#endif
    case Crc32cPath::kSoftware:
      return Software;
    default:
      return nullptr;
  }
}

const Crc32cPath kBestPath = kClmul512   ? Crc32cPath::kClmul512
                             : kClmul256 ? Crc32cPath::kClmul256
                             : kHardware ? Crc32cPath::kSse42
                                         : Crc32cPath::kSoftware;
const Impl kBest = ImplFor(kBestPath);
// By Crc32cPath value, null where this CPU lacks the path: the data of crc32cWith's functions.
const Impl kImpls[] = {ImplFor(Crc32cPath::kSoftware), ImplFor(Crc32cPath::kSse42), ImplFor(Crc32cPath::kClmul256),
                       ImplFor(Crc32cPath::kClmul512)};

// Validates the arguments (buf, start, end, crc); on success sets p, n, crc and returns true.
bool ParseRange(const Napi::CallbackInfo& info, const char* usage, const uint8_t** p, size_t* n, uint32_t* crc) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray buf = info[0].As<Napi::TypedArray>();
  const double start = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  const size_t len = buf.ByteLength();
  if (!(start >= 0 && start <= end && end <= static_cast<double>(len))) {
    Napi::RangeError::New(env, "crc32c: need 0 <= start <= end <= buf.byteLength").ThrowAsJavaScriptException();
    return false;
  }
  *crc = info[3].As<Napi::Number>().Uint32Value();
  const size_t s = static_cast<size_t>(start);
  *p = static_cast<const uint8_t*>(buf.ArrayBuffer().Data()) + buf.ByteOffset() + s;
  *n = static_cast<size_t>(end) - s;
  return true;
}

}  // namespace

bool HardwareCrc32c() { return kHardware; }

Crc32cPath Crc32cBestPath() { return kBestPath; }

const char* Crc32cPathName(Crc32cPath path) {
  switch (path) {
    case Crc32cPath::kClmul512:
      return "clmul512";
    case Crc32cPath::kClmul256:
      return "clmul256";
    case Crc32cPath::kSse42:
      return "sse42";
    default:
      return "software";
  }
}

uint32_t Crc32c(uint32_t crc, const uint8_t* p, size_t n) { return ~kBest(~crc, p, n); }

// crc32c(buf: Uint8Array, start, end, crc) -> number (unsigned 32-bit)
Napi::Value Crc32cBinding(const Napi::CallbackInfo& info) {
  const uint8_t* p;
  size_t n;
  uint32_t crc;
  if (!ParseRange(info, "crc32c(buf, start, end, crc)", &p, &n, &crc)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), Crc32c(crc, p, n));
}

// Calls the path whose Impl the function was created with (crc32cWith).
Napi::Value Crc32cViaBinding(const Napi::CallbackInfo& info) {
  const Impl impl = *static_cast<const Impl*>(info.Data());
  const uint8_t* p;
  size_t n;
  uint32_t crc;
  if (!ParseRange(info, "crc32c(buf, start, end, crc)", &p, &n, &crc)) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ~impl(~crc, p, n));
}

// crc32cWith(path: 'clmul512' | 'clmul256' | 'sse42' | 'software') -> (buf, start, end, crc) => number; throws when
// this CPU lacks that path. A function per path, so that calls cost what crc32c() calls cost.
Napi::Value Crc32cWithBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "crc32cWith(path)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  for (int i = 0; i < static_cast<int>(sizeof kImpls / sizeof kImpls[0]); i++) {
    const Crc32cPath path = static_cast<Crc32cPath>(i);
    const Impl* impl = &kImpls[i];
    if (name == Crc32cPathName(path) && *impl != nullptr) {
      return Napi::Function::New(env, Crc32cViaBinding, std::string("crc32c_") + name, const_cast<Impl*>(impl));
    }
  }
  Napi::Error::New(env, "crc32cWith: path '" + name + "' is unknown or not supported by this CPU")
      .ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace berth

#include "crc32c.h"

#include <cstring>

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

const bool kHardware = [] {
#ifdef BERTH_CRC_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
#else
  return false;
#endif
}();

}  // namespace

bool HardwareCrc32c() { return kHardware; }

uint32_t Crc32c(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef BERTH_CRC_X86
  if (kHardware) return ~Hardware(~crc, p, n);
#endif
  return ~Software(~crc, p, n);
}

// crc32c(buf: Uint8Array, start, end, crc) -> number (unsigned 32-bit)
Napi::Value Crc32cBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber()) {
    Napi::TypeError::New(env, "crc32c(buf, start, end, crc)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray buf = info[0].As<Napi::TypedArray>();
  const double start = info[1].As<Napi::Number>().DoubleValue();
  const double end = info[2].As<Napi::Number>().DoubleValue();
  const size_t len = buf.ByteLength();
  if (!(start >= 0 && start <= end && end <= static_cast<double>(len))) {
    Napi::RangeError::New(env, "crc32c: need 0 <= start <= end <= buf.byteLength").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t crc = info[3].As<Napi::Number>().Uint32Value();
  const auto* p = static_cast<const uint8_t*>(buf.ArrayBuffer().Data()) + buf.ByteOffset();
  const size_t s = static_cast<size_t>(start);
  const uint32_t r = Crc32c(crc, p + s, static_cast<size_t>(end) - s);
  return Napi::Number::New(env, r);
}

}  // namespace berth

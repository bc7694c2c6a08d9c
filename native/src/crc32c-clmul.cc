// CRC32C by folding with carry-less multiplication (VPCLMULQDQ on 512-bit registers, or 256-bit ones without
// AVX-512), for long inputs on CPUs that have it. crc32c.cc decides when to use it and checksums the tail bytes with
// the crc32 instruction.
//
// The mathematics, in the bit-reflected convention the crc32 instruction uses: the message is a polynomial over
// GF(2) whose first bit (bit 0 of byte 0) is the highest power, and the raw CRC register after it is
// M(x) * x^32 mod P(x). A 16-byte lane loaded little-endian is a 128-bit value L whose bit k is the coefficient of
// x^(127-k); its low qword holds the powers x^127..x^64 and its high qword x^63..x^0. A lane that starts T bits
// before another lane contributes L * x^T to that later lane's position, so it can be replaced by anything
// congruent to L * x^T mod P, namely lo * (x^(T+64) mod P) + hi * (x^T mod P): two 64x32-bit carry-less products
// that fit in 128 bits, XORed into the later lane. Repeating this ("folding") keeps a few registers of running
// remainder while the loads stream, with no dependency between lanes; the crc32 instruction's own dependency chain
// is gone. At the end the remainder is a 16-byte message with the same CRC as everything folded into it, and two
// crc32 instructions finish it.
//
// Operand placement: a 64-bit operand a (bit i = x^(63-i)) times a 32-bit constant c placed in the low bits of a
// 64-bit operand (bit i = x^(31-i), i.e. C * x^32 when read as 64 bits) gives a 127-bit product whose bit k is
// x^(126-k); read as a 128-bit lane that is A * C * x^33. Hence the constants x^(T+64-33) and x^(T-33) below.
#include "crc32c.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace berth {
namespace crc32c_detail {
namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // Castagnoli polynomial without its x^32 term, bit-reflected

// x^e mod P, bit-reflected (bit i is the coefficient of x^(31-i)): start from 1 (bit 31), multiply by x e times.
uint32_t XPowModP(unsigned e) {
  uint32_t v = 0x80000000u;
  while (e-- > 0) v = (v & 1) ? (v >> 1) ^ kPoly : v >> 1;
  return v;
}

// Constants for 4 lanes of one 512-bit register, each lane a {low qword, high qword} pair.
struct alignas(64) LaneConstants {
  uint64_t q[8];
};

// Folding a lane forward by `bits`: the low qword (powers x^127..x^64) is multiplied by x^(bits+64-33) mod P and the
// high qword (x^63..x^0) by x^(bits-33) mod P (see "Operand placement" above).
void SetFold(LaneConstants& c, int lane, unsigned bits) {
  c.q[2 * lane] = XPowModP(bits + 64 - 33);
  c.q[2 * lane + 1] = XPowModP(bits - 33);
}

LaneConstants Uniform(unsigned bits) {
  LaneConstants c{};
  for (int lane = 0; lane < 4; lane++) SetFold(c, lane, bits);
  return c;
}

constexpr size_t kRegBytes = 64;
// Independent chains, enough to cover the multiply's latency: on Zen 4 the loop is bound by VPCLMULQDQ throughput
// (about one a cycle), and eight chains measured no faster.
constexpr int kAccumulators = 4;
constexpr size_t kBlockBytes = kRegBytes * kAccumulators;

// Data fresh from memory: the hardware prefetchers alone left the 512-bit loop waiting (21-24 GiB/s walking a
// 256 MiB buffer in 1 MiB pieces); asking for the lines 4 KiB ahead gave 26-28 GiB/s and changed nothing in cache.
// A prefetch past the end of the input is harmless: it never faults (the address is computed as an integer).
constexpr uintptr_t kPrefetchBytes = 4096;

inline void PrefetchAhead(const uint8_t* p, size_t bytes) {
  const uintptr_t ahead = reinterpret_cast<uintptr_t>(p) + kPrefetchBytes;
  for (size_t i = 0; i < bytes; i += 64) _mm_prefetch(reinterpret_cast<const char*>(ahead + i), _MM_HINT_T0);
}

struct Constants {
  LaneConstants by_block = Uniform(8 * kBlockBytes);  // each accumulator over the next block: 2048 bits
  LaneConstants by_reg = Uniform(8 * kRegBytes);      // one register to the next: 512 bits
  LaneConstants by_2reg = Uniform(8 * 2 * kRegBytes);
  LaneConstants by_3reg = Uniform(8 * 3 * kRegBytes);
  // Lanes 0..2 of the last register forward onto lane 3: by 384, 256 and 128 bits (lane 3 is kept as it is).
  LaneConstants lanes = [] {
    LaneConstants c{};
    for (int lane = 0; lane < 3; lane++) SetFold(c, lane, 128 * (3 - lane));
    return c;
  }();
};

const Constants kConstants;  // computed when the addon loads

#define BERTH_CLMUL_TARGET __attribute__((target("sse4.2,avx2,avx512f,vpclmulqdq")))

BERTH_CLMUL_TARGET inline __m512i Load(const LaneConstants& c) { return _mm512_load_si512(c.q); }

// acc * x^T (as two carry-less products) XOR data: one ternary-logic XOR of three inputs.
BERTH_CLMUL_TARGET inline __m512i Fold(__m512i acc, __m512i k, __m512i data) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00), _mm512_clmulepi64_epi128(acc, k, 0x11),
                                   data, 0x96);
}

}  // namespace

BERTH_CLMUL_TARGET uint32_t FoldClmul512(uint32_t state, const uint8_t* p, size_t n) {
  // The initial register value joins the message as its first 32 bits: state * x^(8n) is its contribution.
  const __m512i init = _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, static_cast<int64_t>(state));
  __m512i a0 = _mm512_xor_si512(_mm512_loadu_si512(p), init);
  __m512i a1 = _mm512_loadu_si512(p + kRegBytes);
  __m512i a2 = _mm512_loadu_si512(p + 2 * kRegBytes);
  __m512i a3 = _mm512_loadu_si512(p + 3 * kRegBytes);
  p += kBlockBytes;
  n -= kBlockBytes;
  const __m512i by_block = Load(kConstants.by_block);
  while (n >= kBlockBytes) {
    PrefetchAhead(p, kBlockBytes);
    a0 = Fold(a0, by_block, _mm512_loadu_si512(p));
    a1 = Fold(a1, by_block, _mm512_loadu_si512(p + kRegBytes));
    a2 = Fold(a2, by_block, _mm512_loadu_si512(p + 2 * kRegBytes));
    a3 = Fold(a3, by_block, _mm512_loadu_si512(p + 3 * kRegBytes));
    p += kBlockBytes;
    n -= kBlockBytes;
  }
  // Four accumulators onto the last one's position, then the remaining whole registers one at a time.
  const __m512i k3 = Load(kConstants.by_3reg), k2 = Load(kConstants.by_2reg), k1 = Load(kConstants.by_reg);
  __m512i x = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(a0, k3, 0x00),
                                        _mm512_clmulepi64_epi128(a0, k3, 0x11), Fold(a1, k2, a3), 0x96);
  x = Fold(a2, k1, x);
  while (n >= kRegBytes) {
    x = Fold(x, k1, _mm512_loadu_si512(p));
    p += kRegBytes;
    n -= kRegBytes;
  }
  // Four lanes onto lane 3, then XOR the lanes together.
  const __m512i kl = Load(kConstants.lanes);
  __m512i f = _mm512_xor_si512(_mm512_clmulepi64_epi128(x, kl, 0x00), _mm512_clmulepi64_epi128(x, kl, 0x11));
  f = _mm512_mask_blend_epi64(0xC0, f, x);
  alignas(64) uint64_t q[8];
  _mm512_store_si512(q, f);
  const uint64_t lo = q[0] ^ q[2] ^ q[4] ^ q[6];
  const uint64_t hi = q[1] ^ q[3] ^ q[5] ^ q[7];
  // {lo, hi} is a 16-byte message congruent to everything folded: run it through the crc32 instruction from zero.
  return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0, lo), hi));
}

namespace {

// The same folding on 256-bit registers (two lanes each) for CPUs with VPCLMULQDQ but without AVX-512: no
// three-input XOR, and the two lanes are merged with the 128-bit PCLMULQDQ.
constexpr size_t kYmmBytes = 32;
constexpr size_t kYmmBlockBytes = kYmmBytes * kAccumulators;

struct Constants256 {
  LaneConstants by_block = Uniform(8 * kYmmBlockBytes);  // 1024 bits
  LaneConstants by_reg = Uniform(8 * kYmmBytes);         // 256 bits
  LaneConstants by_2reg = Uniform(8 * 2 * kYmmBytes);
  LaneConstants by_3reg = Uniform(8 * 3 * kYmmBytes);
  LaneConstants by_lane = Uniform(128);  // lane 0 onto lane 1
};

const Constants256 kConstants256;

#define BERTH_CLMUL256_TARGET __attribute__((target("sse4.2,avx2,pclmul,vpclmulqdq")))

BERTH_CLMUL256_TARGET inline __m256i Load256(const LaneConstants& c) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(c.q));
}

BERTH_CLMUL256_TARGET inline __m256i LoadU256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

BERTH_CLMUL256_TARGET inline __m256i Fold256(__m256i acc, __m256i k, __m256i data) {
  const __m256i lo = _mm256_clmulepi64_epi128(acc, k, 0x00);
  const __m256i hi = _mm256_clmulepi64_epi128(acc, k, 0x11);
  return _mm256_xor_si256(_mm256_xor_si256(lo, hi), data);
}

}  // namespace

BERTH_CLMUL256_TARGET uint32_t FoldClmul256(uint32_t state, const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_xor_si256(LoadU256(p), _mm256_set_epi64x(0, 0, 0, static_cast<int64_t>(state)));
  __m256i a1 = LoadU256(p + kYmmBytes);
  __m256i a2 = LoadU256(p + 2 * kYmmBytes);
  __m256i a3 = LoadU256(p + 3 * kYmmBytes);
  p += kYmmBlockBytes;
  n -= kYmmBlockBytes;
  const __m256i by_block = Load256(kConstants256.by_block);
  while (n >= kYmmBlockBytes) {  // no prefetching: it measured no faster here
    a0 = Fold256(a0, by_block, LoadU256(p));
    a1 = Fold256(a1, by_block, LoadU256(p + kYmmBytes));
    a2 = Fold256(a2, by_block, LoadU256(p + 2 * kYmmBytes));
    a3 = Fold256(a3, by_block, LoadU256(p + 3 * kYmmBytes));
    p += kYmmBlockBytes;
    n -= kYmmBlockBytes;
  }
  const __m256i k1 = Load256(kConstants256.by_reg);
  __m256i x = Fold256(a0, Load256(kConstants256.by_3reg), Fold256(a1, Load256(kConstants256.by_2reg), a3));
  x = Fold256(a2, k1, x);
  while (n >= kYmmBytes) {
    x = Fold256(x, k1, LoadU256(p));
    p += kYmmBytes;
    n -= kYmmBytes;
  }
  const __m128i lane0 = _mm256_castsi256_si128(x);
  const __m128i kl = _mm_load_si128(reinterpret_cast<const __m128i*>(kConstants256.by_lane.q));
  const __m128i folded = _mm_xor_si128(_mm_clmulepi64_si128(lane0, kl, 0x00), _mm_clmulepi64_si128(lane0, kl, 0x11));
  const __m128i r = _mm_xor_si128(folded, _mm256_extracti128_si256(x, 1));
  const uint64_t lo = static_cast<uint64_t>(_mm_cvtsi128_si64(r));
  const uint64_t hi = static_cast<uint64_t>(_mm_extract_epi64(r, 1));
  return static_cast<uint32_t>(_mm_crc32_u64(_mm_crc32_u64(0, lo), hi));
}

bool Clmul256Supported() {
  __builtin_cpu_init();
  // avx2 also tells that the OS saves YMM state.
  return __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("sse4.2");
}

bool Clmul512Supported() {
  __builtin_cpu_init();
  // avx512f also tells that the OS saves ZMM state (GCC checks XGETBV); sse4.2 for the crc32 instruction.
  return __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("sse4.2");
}

}  // namespace crc32c_detail
}  // namespace berth

#endif  // __x86_64__

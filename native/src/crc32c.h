// CRC32C (Castagnoli). Paths picked once from cpuid: folding with VPCLMULQDQ on 512-bit (AVX-512) or 256-bit (AVX2)
// registers for long inputs (crc32c-clmul.cc), the SSE4.2 crc32 instruction, slice-by-8 tables. All give the same
// results as protocol/records/crc32c.ts.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace berth {

enum class Crc32cPath { kSoftware, kSse42, kClmul256, kClmul512 };

bool HardwareCrc32c();
/** The path Crc32c() takes on this CPU (for inputs long enough for it). */
Crc32cPath Crc32cBestPath();
const char* Crc32cPathName(Crc32cPath path);
uint32_t Crc32c(uint32_t crc, const uint8_t* p, size_t n);
Napi::Value Crc32cBinding(const Napi::CallbackInfo& info);
/** crc32cWith(path): a crc32c function bound to one named path, for tests and benchmarks. */
Napi::Value Crc32cWithBinding(const Napi::CallbackInfo& info);

namespace crc32c_detail {
#if defined(__x86_64__)
/** Folds n bytes (a multiple of 64, at least 256) from raw register `state`; returns the raw register after them. */
uint32_t FoldClmul512(uint32_t state, const uint8_t* p, size_t n);
bool Clmul512Supported();
/** The same on 256-bit registers (AVX2): n a multiple of 32, at least 128. */
uint32_t FoldClmul256(uint32_t state, const uint8_t* p, size_t n);
bool Clmul256Supported();
#endif
}  // namespace crc32c_detail

}  // namespace berth

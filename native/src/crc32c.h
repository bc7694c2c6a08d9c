// CRC32C (Castagnoli) with the SSE4.2 instruction where the CPU has it, else slice-by-8 tables. Both give the same
// results as protocol/records/crc32c.ts.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace berth {

bool HardwareCrc32c();
uint32_t Crc32c(uint32_t crc, const uint8_t* p, size_t n);
Napi::Value Crc32cBinding(const Napi::CallbackInfo& info);

}  // namespace berth

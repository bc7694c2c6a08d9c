// sendRanges: a fetch response's header bytes, then byte ranges of segment files, written to a TCP socket in order
// without the record bytes entering JS (sendfile(2): page cache to socket).
#pragma once

#include <napi.h>

namespace berth {

Napi::Value SendRanges(const Napi::CallbackInfo& info);

}  // namespace berth

// The send thread: sendRanges jobs too large to send from the JS thread, or whose socket filled up, are finished
// here, so that a consumer catching up on a large backlog (sendfile at gigabytes a second) never holds the event
// loop that every other client waits on. One thread per Node environment (a worker's sends stay in its own).
#pragma once

#include <napi.h>

#include "send-job.h"

namespace berth {

// Hands `job` to this environment's send thread, its cb (and head, while unsent) references already taken. The job
// is then the thread's until its callback has run on the JS thread, which deletes it. On failure returns an errno
// with `*syscall` set, and the job is still the caller's (with no descriptors of its own); `*no_thread` says the
// thread itself could not be started (so no large send can work in this process).
int HandToSendThread(napi_env env, SendJob* job, const char** syscall, bool* no_thread);

// shutdown(2) of a socket whose send may be running on the send thread: the send fails at once (EPIPE) and ends,
// instead of waiting for a peer that stopped reading. The caller closes its own descriptor as usual.
Napi::Value ShutdownSocket(const Napi::CallbackInfo& info);

}  // namespace berth

/**
 * Fetch responses carry record bytes that stay in segment files. A handler puts `fileRecords(ranges)` in a
 * records field; encoding turns the response into ResponseParts where those fields are file ranges, which the
 * response writer sends with splice/sendfile (or reads and copies, on the fallback path).
 */
import { encodeResponseHeader } from '../protocol/headers.js';
import type { ApiCodec } from '../protocol/wire/api-codec.js';
import { ExternalBytes } from '../protocol/wire/external-bytes.js';
import { Writer } from '../protocol/wire/writer.js';
import type { FileRange, ResponseParts } from './outbound.js';

/** A records-field value standing for `ranges` of segment files, typed as the Buffer the message expects. */
export function fileRecords(ranges: FileRange[]): Buffer {
  let length = 0;
  for (const r of ranges) length += r.length;
  // The message types say Buffer; the Writer recognises ExternalBytes before it touches any byte.
  return new ExternalBytes<FileRange[]>(length, ranges) as unknown as Buffer;
}

export function encodeResponseParts(
  codec: ApiCodec,
  version: number,
  correlationId: number,
  body: unknown,
): ResponseParts {
  const w = new Writer(1024).reserveSizePrefix();
  encodeResponseHeader(w, { correlationId }, codec.responseHeaderVersion(version));
  codec.response.encode(w, body, version);
  const out: ResponseParts = [];
  for (const part of w.finishParts()) {
    if (part instanceof ExternalBytes) {
      for (const range of part.ref as FileRange[]) if (range.length > 0) out.push(range);
    } else out.push(part);
  }
  return out;
}

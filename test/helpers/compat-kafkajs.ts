/**
 * kafkajs against Berth: kafkajs ships only gzip, so snappy, lz4 and zstd are registered here through kafkajs's
 * public codec hook, backed by our own `protocol/records/compression.ts`. kafkajs still builds and parses the
 * record batches itself; the adapter only turns bytes into compressed bytes and back.
 */
import { CompressionCodecs, CompressionTypes, Kafka, logLevel } from 'kafkajs';
import type { CompressionCodec } from '../../protocol/records/batch-header.js';
import { compress, decompress } from '../../protocol/records/compression.js';

interface KafkajsEncoder {
  buffer: Buffer;
}

function adapter(codec: CompressionCodec) {
  return () => ({
    async compress(encoder: KafkajsEncoder): Promise<Buffer> {
      return compress(codec, encoder.buffer);
    },
    async decompress(buffer: Buffer): Promise<Buffer> {
      return decompress(codec, buffer);
    },
  });
}

let registered = false;

/** Registers snappy, lz4 and zstd with kafkajs (idempotent; gzip stays kafkajs's own). */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  CompressionCodecs[CompressionTypes.Snappy] = adapter('snappy');
  CompressionCodecs[CompressionTypes.LZ4] = adapter('lz4');
  CompressionCodecs[CompressionTypes.ZSTD] = adapter('zstd');
}

export const kafkajsCompression: Record<CompressionCodec, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** A kafkajs client for `bootstrap` that logs only errors, with short retries so a failure surfaces quickly. */
export function kafkajsClient(bootstrap: string, clientId = 'berth-compat'): Kafka {
  registerKafkajsCodecs();
  return new Kafka({
    brokers: [bootstrap],
    clientId,
    logLevel: process.env.BERTH_TEST_LOG ? logLevel.INFO : logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 5000,
    requestTimeout: 10_000,
  });
}

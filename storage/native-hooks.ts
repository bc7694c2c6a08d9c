/**
 * The parts of the native addon storage uses (fallocate, read-only mmap), looked up once and optional: without the
 * addon, segments are not preallocated and sealed indexes are read into memory with fs.read.
 * The addon module is imported by a computed specifier so this file compiles before native/index.ts exists.
 */
export interface StorageNative {
  fallocateSync?: (fd: number, mode: number, offset: number, length: number) => void;
  mmapReadOnly?: (fd: number, offset: number, length: number) => Buffer;
}

let loaded: Promise<StorageNative | null> | undefined;

export function loadStorageNative(): Promise<StorageNative | null> {
  loaded ??= (async () => {
    try {
      const spec = '../native/index.js';
      const mod = (await import(spec)) as { loadNative?: () => StorageNative | null };
      return mod.loadNative?.() ?? null;
    } catch {
      return null;
    }
  })();
  return loaded;
}

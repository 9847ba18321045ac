// Message body compression, as RocketMQ clients do it, marked in the message's sysFlag:
//
//   sysFlag bits           body                         who reads it
//   0x1                    zlib stream (Deflater)       every 4.x and 5.x consumer
//   0x1 | 0x300 (ZLIB)     zlib stream                  5.x consumers (4.x ignores the type bits)
//   0x1 | 0x100 (LZ4)      LZ4 frame (lz4-java          5.x consumers only
//                          LZ4FrameOutputStream)
//   0x1 | 0x200 (ZSTD)     zstd frame (zstd-jni)        5.x consumers only
//
// We write zlib with bit 0x1 alone by default (what 4.x Java consumers and ali-ons read). LZ4 is
// written as an LZ4 *frame* (magic 04 22 4D 18), the format RocketMQ 5's Lz4Compressor reads;
// lz4-napi's compressSync writes a size-prefixed *block* instead, which Java cannot read, so we
// only accept that form when reading. lz4-napi is a native module, loaded on first use.
import { deflateSync, inflateSync } from "node:zlib";
import { createRequire } from "node:module";
import { SysFlag } from "../protocol/message_record.ts";

export type Compression = "zlib" | "lz4" | "zstd";

/** Java's DefaultMQProducer.compressMsgBodyOverHowmuch. */
export const compressBodyBytesMinDefault = 4096;
/** Java's zipCompressLevel (rocketmq.message.compressLevel) default. */
const zlibLevel = 5;
const lz4FrameMagic = [0x04, 0x22, 0x4d, 0x18] as const;

type Lz4 = typeof import("lz4-napi");
let lz4Module: Lz4 | null = null;
function lz4(): Lz4 {
  lz4Module ??= createRequire(import.meta.url)("lz4-napi") as Lz4;
  return lz4Module;
}

/** The sysFlag bits that mark a body compressed with `kind`. */
export function compressionSysFlag(kind: Compression): number {
  switch (kind) {
    case "zlib":
      return SysFlag.COMPRESSED;
    case "lz4":
      return SysFlag.COMPRESSED | SysFlag.COMPRESSION_LZ4;
    case "zstd":
      return SysFlag.COMPRESSED | SysFlag.COMPRESSION_ZSTD;
  }
}

export function compressBody(body: Uint8Array, kind: Compression): Uint8Array {
  switch (kind) {
    case "zlib":
      return deflateSync(body, { level: zlibLevel });
    case "lz4":
      return lz4().compressFrameSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    case "zstd":
      return Bun.zstdCompressSync(body);
  }
}

/** The body as the producer wrote it: decompressed when sysFlag says it is compressed. */
export function decompressBody(body: Uint8Array, sysFlag: number): Uint8Array {
  if ((sysFlag & SysFlag.COMPRESSED) === 0) return body;
  const type = sysFlag & SysFlag.COMPRESSION_TYPE_MASK;
  if (type === 0 || type === SysFlag.COMPRESSION_ZLIB) return inflateSync(body);
  if (type === SysFlag.COMPRESSION_ZSTD) return Bun.zstdDecompressSync(body);
  if (type === SysFlag.COMPRESSION_LZ4) {
    const isFrame = lz4FrameMagic.every((byte, i) => body[i] === byte);
    return isFrame ? lz4().decompressFrameSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) : lz4().uncompressSync(body);
  }
  throw new Error(`unknown compression type 0x${type.toString(16)} in sysFlag 0x${sysFlag.toString(16)}`);
}

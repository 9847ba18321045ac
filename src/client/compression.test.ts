import { expect, test } from "bun:test";
import { compressBody, compressionSysFlag, decompressBody, type Compression } from "./compression.ts";

const body = new TextEncoder().encode("a compressible body, ".repeat(500));

test("each compression round-trips and sets its sysFlag bits", () => {
  const expected: Record<Compression, number> = { zlib: 0x1, lz4: 0x101, zstd: 0x201 };
  for (const kind of ["zlib", "lz4", "zstd"] as const) {
    const compressed = compressBody(body, kind);
    expect(compressed.length).toBeLessThan(body.length);
    expect(compressionSysFlag(kind)).toBe(expected[kind]);
    expect(decompressBody(compressed, compressionSysFlag(kind))).toEqual(body);
  }
});

test("zlib is read whether or not the 5.x ZLIB type bits are set; uncompressed bodies pass", () => {
  const compressed = compressBody(body, "zlib");
  expect(decompressBody(compressed, 0x1 | 0x300)).toEqual(body);
  expect(decompressBody(body, 0x0)).toBe(body);
});

test("lz4 in lz4-napi's size-prefixed block form is read too", () => {
  const { compressSync } = require("lz4-napi") as typeof import("lz4-napi");
  expect(decompressBody(compressSync(Buffer.from(body)), 0x101)).toEqual(body);
});

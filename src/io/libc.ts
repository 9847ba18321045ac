// libc through bun:ffi, for the few calls Bun has no API for (posix_fallocate, hole punching,
// madvise, flock, a unix datagram's sendto; the benchmark's posix_fadvise). A caller names the
// symbols it needs and gets them opened on first use and kept, or null (also kept) where libc or a
// symbol cannot be opened: the caller then falls back or says why.
import { dlopen, type Library } from "bun:ffi";

type Symbols = Parameters<typeof dlopen>[1];

/** The C library's file name on this platform. */
const libcName = process.platform === "darwin" ? "libc.dylib" : "libc.so.6";

/**
 * A getter for `wrap` over libc's `symbols`, opened once. `linuxOnly`: null on any other OS (the
 * calls are Linux ones: fallocate's hole punching, sd_notify's datagram).
 */
export function libcOnce<Fns extends Symbols, T>(symbols: Fns, wrap: (libc: Library<Fns>) => T, linuxOnly = false): () => T | null {
  let cached: T | null | undefined;
  return () => {
    if (cached !== undefined) return cached;
    try {
      if (linuxOnly && process.platform !== "linux") throw new Error("not Linux");
      cached = wrap(dlopen(libcName, symbols));
    } catch {
      cached = null;
    }
    return cached;
  };
}

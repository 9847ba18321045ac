// The machine's monotonic clock (clock_gettime(CLOCK_MONOTONIC)) in milliseconds, the same on
// every thread and process. Bun.nanoseconds(), process.hrtime() and performance.now() all count
// from the calling thread's start (checked: a Worker's read ~5 ms less than its parent's at the
// same instant), so stamps taken on two threads cannot be subtracted; this one can. Linux (the
// bench's platform): libc.so.6, CLOCK_MONOTONIC = 1.
import { dlopen, FFIType, ptr } from "bun:ffi";

const clockMonotonic = 1; // linux/time.h
const libc = dlopen("libc.so.6", {
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
});
const timespec = new BigInt64Array(2); // tv_sec, tv_nsec (64-bit platforms)
const timespecPointer = ptr(timespec);

export function monotonicMs(): number {
  libc.symbols.clock_gettime(clockMonotonic, timespecPointer);
  return Number(timespec[0]) * 1000 + Number(timespec[1]) / 1e6;
}

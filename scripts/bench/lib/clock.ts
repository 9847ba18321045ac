// The machine's monotonic clock (clock_gettime(CLOCK_MONOTONIC)) in milliseconds, the same on
// every thread and process. Bun.nanoseconds(), process.hrtime() and performance.now() all count
// from the calling thread's start (checked: a Worker's read ~5 ms less than its parent's at the
// same instant), so stamps taken on two threads cannot be subtracted; this one can. Linux (the
// bench's platform): libc.so.6, CLOCK_MONOTONIC = 1.
import { dlopen, FFIType, ptr } from "bun:ffi";

const clockMonotonic = 1; // linux/time.h
const prSetTimerSlack = 29; // linux/prctl.h PR_SET_TIMERSLACK
/** The timer slack preciseWaits() asks for, ns (the kernel's default for a thread is 50,000). */
const preciseSlackNs = 1000;
const libc = dlopen("libc.so.6", {
  clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
});
const timespec = new BigInt64Array(2); // tv_sec, tv_nsec (64-bit platforms)
const timespecPointer = ptr(timespec);

export function monotonicMs(): number {
  libc.symbols.clock_gettime(clockMonotonic, timespecPointer);
  return Number(timespec[0]) * 1000 + Number(timespec[1]) / 1e6;
}

/**
 * Lets the calling thread's timed waits end within about a microsecond of their deadline: the
 * kernel may otherwise end them up to its default timer slack (50 µs) late, to batch wake-ups.
 * For the latency sender, whose waits for the next due time made every message ~50 µs late
 * (median "sent late" 0.08 ms, 0.03 ms with it; e2e p50 against the null broker 0.17 → 0.12 ms).
 * Returns false where the kernel refuses.
 */
export function preciseWaits(): boolean {
  return libc.symbols.prctl(prSetTimerSlack, preciseSlackNs, 0, 0, 0) === 0;
}

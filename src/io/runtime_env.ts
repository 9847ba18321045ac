// Settings of the runtime under Bolide that are read from the environment once, when the process
// starts, and cannot be changed from JavaScript afterwards. A server started without them sets them
// by executing itself again: execve(2) of /proc/self/exe with the argv it was given
// (/proc/self/cmdline) and its environment (/proc/self/environ) plus these. The pid stays, so a
// systemd unit, a supervisor or a shell's `$!` sees one process; nothing has been opened or
// listened on yet when it happens. A variable already set (by the operator, or by the first
// execution) is left as it is, so this happens at most once. Linux only; anywhere it cannot be done
// the server simply runs with the runtime's defaults.
//
// MIMALLOC_PURGE_DELAY=-1: Bun's allocator (mimalloc) by default gives memory it freed back to the
// kernel 10 ms later and takes a page fault per 4 KiB page when it uses it again. A broker frees
// and reuses the same memory all the time (each socket read is a new buffer), so that churn was
// about a tenth of its CPU time with one send in flight: `perf` on the broker, one producer, 1 KiB:
// page faults 9.3 % and madvise 1.3 % of its samples, about one minor fault per message. With it
// set, freed memory stays with the process for reuse (RSS stays at its high-water mark, as a JVM's
// heap does). Measured: see the commit that added this file.
import { readFileSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { libcOnce } from "./libc.ts";

/** Variables this module makes sure are set, with their values. */
export const runtimeEnv: Readonly<Record<string, string>> = { MIMALLOC_PURGE_DELAY: "-1" };

const execveFunction = libcOnce(
  { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } },
  (libc) => libc.symbols.execve,
  true,
);

/** Pointers to each NUL-terminated string in `block`, then a null pointer (an argv or envp). */
function pointerArray(block: Uint8Array): BigUint64Array {
  const starts: number[] = [];
  for (let at = 0; at < block.length; ) {
    starts.push(at);
    const end = block.indexOf(0, at);
    at = end === -1 ? block.length : end + 1;
  }
  const base = ptr(block);
  const array = new BigUint64Array(starts.length + 1);
  for (let i = 0; i < starts.length; i++) array[i] = BigInt(base + starts[i]!);
  return array;
}

/**
 * Executes this process again with runtimeEnv set, if any of it is missing; returns only when
 * nothing is missing or it could not be done (the reason, for a debug line), never after a
 * successful execve.
 */
export function ensureRuntimeEnv(): string | null {
  const missing = Object.keys(runtimeEnv).filter((name) => process.env[name] === undefined);
  if (missing.length === 0) return null;
  const execve = execveFunction();
  if (execve === null) return "execve unavailable (not Linux, or libc could not be opened)";
  let argv: Uint8Array;
  let environment: Uint8Array;
  try {
    argv = readFileSync("/proc/self/cmdline");
    environment = readFileSync("/proc/self/environ");
  } catch (error) {
    return `cannot read /proc/self: ${String(error)}`;
  }
  if (argv.length === 0 || argv.at(-1) !== 0) return "/proc/self/cmdline is not a NUL-terminated list";
  const added = Buffer.from(missing.map((name) => `${name}=${runtimeEnv[name]}\0`).join(""));
  const unterminated = environment.length > 0 && environment.at(-1) !== 0;
  const envp = Buffer.concat([environment, unterminated ? Buffer.from([0]) : Buffer.alloc(0), added]);
  const path = Buffer.from("/proc/self/exe\0");
  const argvPointers = pointerArray(argv);
  const envPointers = pointerArray(envp);
  execve(ptr(path), ptr(argvPointers), ptr(envPointers));
  // Still here: execve failed (the blocks above were alive throughout the call).
  return "execve of /proc/self/exe failed";
}

// A fake systemd notify socket for tests: an AF_UNIX datagram socket bound to a path or an
// abstract name ("@..."), read without blocking through bun:ffi (Bun has no unix datagram API;
// see src/cli/sd_notify.ts). Pass `name` to the child as NOTIFY_SOCKET.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { notifySocketAddress } from "../../src/cli/sd_notify.ts";

const afUnix = 1;
const sockDgram = 2;
const sockNonBlock = 0o4000;
const sockCloexec = 0o2000000;

const libc = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
});

export interface NotifyMessage {
  text: string;
  atMs: number;
}

export class NotifyReceiver {
  readonly messages: NotifyMessage[] = [];
  private fd: number;
  private readonly buffer = new Uint8Array(4096);

  constructor(readonly name: string) {
    const address = notifySocketAddress(name);
    if (address === null) throw new Error(`not a notify socket name: ${name}`);
    this.fd = libc.symbols.socket(afUnix, sockDgram | sockNonBlock | sockCloexec, 0);
    if (this.fd < 0) throw new Error("socket(AF_UNIX, SOCK_DGRAM) failed");
    if (libc.symbols.bind(this.fd, ptr(address), address.length) !== 0) {
      libc.symbols.close(this.fd);
      throw new Error(`bind ${name} failed`);
    }
  }

  /** Reads every datagram waiting now; returns the new ones. */
  poll(): NotifyMessage[] {
    const fresh: NotifyMessage[] = [];
    for (;;) {
      const bytes = Number(libc.symbols.recv(this.fd, ptr(this.buffer), this.buffer.length, 0));
      if (bytes < 0) break; // EAGAIN: nothing more
      const message = { text: new TextDecoder().decode(this.buffer.subarray(0, bytes)), atMs: Date.now() };
      this.messages.push(message);
      fresh.push(message);
    }
    return fresh;
  }

  close(): void {
    if (this.fd >= 0) libc.symbols.close(this.fd);
    this.fd = -1;
  }
}

/** True when a datagram's "KEY=value" lines include `line` (e.g. "READY=1"). */
export function hasLine(message: NotifyMessage, line: string): boolean {
  return message.text.split("\n").includes(line);
}

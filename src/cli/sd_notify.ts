/**
 * sd_notify (src/cli/sd_notify.ts): tells systemd how start-up and shutdown go, for units with
 * Type=notify (packaging/systemd/). The protocol is sd_notify(3): one datagram of "KEY=value"
 * lines sent to the AF_UNIX datagram socket named by $NOTIFY_SOCKET, a path ("/run/systemd/notify")
 * or an abstract name ("@..." stands for a leading NUL byte). main.ts sends "READY=1" once every
 * role listens and the broker has registered, and "STOPPING=1" when SIGTERM or SIGINT arrives.
 *
 * Why bun:ffi: Bun 1.4.5 cannot send a unix datagram otherwise. node:dgram only has udp4/udp6,
 * Bun.udpSocket is UDP only, and node:net / Bun.connect({ unix }) are stream sockets (connecting
 * to a datagram socket fails). Spawning systemd-notify(1) would send from another pid, which
 * systemd drops unless the unit says NotifyAccess=all, and races with that helper's exit. So we
 * call libc's socket(2) and sendto(2) directly, as src/store/data_dir_lock.ts calls flock(2).
 *
 * Guarantees: without $NOTIFY_SOCKET, sdNotify() does nothing and returns "unset" (the binary
 * runs the same outside systemd). Never throws: a failure to reach systemd is returned as a
 * status for the caller to log; the broker keeps serving (systemd then times the start out).
 */
import { FFIType, ptr } from "bun:ffi";
import { libcOnce } from "../io/libc.ts";
import { assert } from "../assert.ts";

export const SdNotifyStatus = { sent: "sent", unset: "unset", badSocket: "bad-socket", noLibc: "no-libc", sendFailed: "send-failed" } as const;
export type SdNotifyStatus = (typeof SdNotifyStatus)[keyof typeof SdNotifyStatus];

// <sys/socket.h>, <sys/un.h> on Linux.
const afUnix = 1;
const sockDgram = 2;
const sockCloexec = 0o2000000;
const msgNoSignal = 0x4000;
// struct sockaddr_un: sa_family_t sun_family (2 bytes, host order) + char sun_path[108].
const sockaddrFamilyBytes = 2;
const sockaddrPathBytesMax = 108;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, message: Uint8Array, address: Uint8Array): number;
  close(fd: number): number;
}

/** Linux only (systemd); null elsewhere or where libc cannot be opened. */
const libc = libcOnce(
  {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  },
  (lib): Libc => ({
    socket: (domain, type, protocol) => lib.symbols.socket(domain, type, protocol),
    sendto: (fd, message, address) => Number(lib.symbols.sendto(fd, ptr(message), message.length, msgNoSignal, ptr(address), address.length)),
    close: (fd) => lib.symbols.close(fd),
  }),
  true,
);

/** The sockaddr_un bytes for a $NOTIFY_SOCKET value, or null when it is not a usable address. */
export function notifySocketAddress(socketName: string): Uint8Array | null {
  const abstract = socketName.startsWith("@");
  if (!abstract && !socketName.startsWith("/")) return null;
  const path = new TextEncoder().encode(abstract ? socketName.slice(1) : socketName);
  // One NUL either way: after a filesystem path, or before an abstract name.
  const pathBytes = 1 + path.length;
  if (path.length === 0 || pathBytes > sockaddrPathBytesMax) return null;
  const address = new Uint8Array(sockaddrFamilyBytes + pathBytes);
  new DataView(address.buffer).setUint16(0, afUnix, true); // x64 and arm64 are little-endian
  address.set(path, sockaddrFamilyBytes + (abstract ? 1 : 0));
  // An abstract name is not NUL-terminated: the address length ends it.
  assert(address.length <= sockaddrFamilyBytes + sockaddrPathBytesMax);
  assert(address[sockaddrFamilyBytes + (abstract ? 0 : path.length)] === 0);
  return address;
}

/** Sends `state` ("READY=1", "STOPPING=1\nSTATUS=...") to $NOTIFY_SOCKET if it is set. */
export function sdNotify(state: string, env: Record<string, string | undefined> = process.env): SdNotifyStatus {
  assert(state.includes("="), "sd_notify: state is KEY=value lines");
  const socketName = env["NOTIFY_SOCKET"];
  if (socketName === undefined || socketName === "") return SdNotifyStatus.unset;
  const address = notifySocketAddress(socketName);
  if (address === null) return SdNotifyStatus.badSocket;
  const c = libc();
  if (c === null) return SdNotifyStatus.noLibc;
  const fd = c.socket(afUnix, sockDgram | sockCloexec, 0);
  if (fd < 0) return SdNotifyStatus.sendFailed;
  const message = new TextEncoder().encode(state);
  const sent = c.sendto(fd, message, address);
  c.close(fd);
  return sent === message.length ? SdNotifyStatus.sent : SdNotifyStatus.sendFailed;
}

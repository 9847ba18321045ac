/**
 * TLS on the remoting ports (src/net/tls.ts), RocketMQ's three server modes (TlsMode.java,
 * `tls.server.mode`):
 *
 * - off (RocketMQ's "disabled"): plaintext only; a TLS ClientHello reads as a frame of ~369 MB
 *   and closes the connection like any oversized frame.
 * - permissive: one port takes both. The first byte decides, as RocketMQ's TlsModeHandler does:
 *   0x16 (a TLS handshake record) starts TLS, anything else is the plaintext protocol.
 * - enforcing: TLS only; a plaintext peer fails the handshake and is closed with one log line.
 *
 * Enforcing uses Bun's native TLS listener. Permissive cannot: Bun 1.4.5's server-side
 * upgradeTLS() on an accepted socket loses the bytes already read (the ClientHello that told us
 * it is TLS), and there is no peek. So a permissive TLS peer runs node:tls's TLSSocket over a
 * Duplex fed from the plain Bun socket (TlsBridge below): slower than the native path, which is
 * why enforcing does not use it.
 */
import { readFileSync } from "node:fs";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { Socket } from "bun";
import type { SocketLike } from "./connection.ts";

export type TlsMode = "off" | "permissive" | "enforcing";

/** The first byte of a TLS record of type handshake (ClientHello). */
export const tlsHandshakeByte = 0x16;

export interface TlsServerFiles {
  /** PEM certificate chain (RocketMQ's tls.server.certPath). */
  certPath: string;
  /** PEM private key (tls.server.keyPath); encrypted keys need keyPassword. */
  keyPath: string;
  keyPassword?: string;
}

export interface TlsServerOptions extends TlsServerFiles {
  mode: TlsMode;
}

export interface TlsKeyPair {
  cert: string;
  key: string;
  passphrase?: string;
}

/** Reads the certificate and key; throws an Error naming the file that cannot be read. */
export function loadKeyPair(files: TlsServerFiles): TlsKeyPair {
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new Error(`TLS ${what} ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const pair: TlsKeyPair = { cert: read(files.certPath, "certificate"), key: read(files.keyPath, "key") };
  if (files.keyPassword !== undefined) pair.passphrase = files.keyPassword;
  return pair;
}

/**
 * Client side: `true` connects with TLS without checking the server's certificate (the Java
 * client's default, tls.client.authServer=false); an object can ask for verification.
 */
export type TlsClientOption = boolean | { rejectUnauthorized?: boolean; ca?: string; serverName?: string };

export function bunClientTls(option: TlsClientOption | undefined): false | { rejectUnauthorized: boolean; ca?: string; serverName?: string } {
  if (option === undefined || option === false) return false;
  if (option === true) return { rejectUnauthorized: false };
  const out: { rejectUnauthorized: boolean; ca?: string; serverName?: string } = { rejectUnauthorized: option.rejectUnauthorized ?? false };
  if (option.ca !== undefined) out.ca = option.ca;
  if (option.serverName !== undefined) out.serverName = option.serverName;
  return out;
}

/**
 * A TLS session (node:tls, server side) over an accepted plain Bun socket. Bytes read from the
 * socket go in with `feed`; what the session writes leaves through the socket, partial writes
 * kept until `onSocketDrain`. As a SocketLike it takes whole frames while the session's write
 * buffer is below its high-water mark and 0 bytes after that, so Connection's send queue (and
 * its backpressure) works as on a plain socket.
 */
export class TlsBridge implements SocketLike {
  private readonly raw: Socket<unknown>;
  private readonly session: tls.TLSSocket;
  private readonly transport: Duplex;
  /** Session output the socket has not taken yet, and the callback releasing the session's next write. */
  private rawPending: Uint8Array | null = null;
  private rawPendingDone: (() => void) | null = null;
  private ended = false;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    raw: Socket<unknown>,
    context: tls.SecureContext,
    handlers: { onData(chunk: Uint8Array): void; onDrain(): void; onClose(): void; onError(error: Error): void },
  ) {
    this.raw = raw;
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = (raw as unknown as { remotePort?: number }).remotePort ?? 0;
    const bridge = this;
    this.transport = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        bridge.writeRaw(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), done);
      },
      final(done) {
        bridge.raw.end();
        done();
      },
    });
    this.session = new tls.TLSSocket(this.transport as unknown as import("node:net").Socket, { isServer: true, secureContext: context });
    this.session.on("data", (chunk: Buffer) => handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    this.session.on("drain", () => handlers.onDrain());
    this.session.on("error", (error: Error) => {
      handlers.onError(error);
      this.terminate();
    });
    this.session.on("close", () => handlers.onClose());
  }

  /** Bytes read from the socket (TLS records). */
  feed(chunk: Uint8Array): void {
    // Bun may reuse its read buffer after the data callback: copy.
    this.transport.push(Buffer.from(chunk));
  }

  private writeRaw(data: Uint8Array, done: () => void): void {
    if (this.ended) return done();
    const written = Math.max(this.raw.write(data), 0);
    if (written === data.length) return done();
    this.rawPending = data.subarray(written);
    this.rawPendingDone = done;
  }

  /** The socket can take more: write what the session produced and waits to send. */
  onSocketDrain(): void {
    const pending = this.rawPending;
    const done = this.rawPendingDone;
    if (pending === null || done === null) return;
    this.rawPending = null;
    this.rawPendingDone = null;
    this.writeRaw(pending, done);
  }

  /** The socket closed: end the session. */
  onSocketClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.transport.push(null);
    this.session.destroy();
  }

  write(data: Uint8Array): number {
    if (this.ended || this.session.destroyed) return -1;
    if (this.session.writableNeedDrain) return 0;
    this.session.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return data.length;
  }

  end(): void {
    if (this.ended) return;
    this.session.end();
  }

  terminate(): void {
    if (this.ended) return;
    this.ended = true;
    this.session.destroy();
    this.raw.terminate();
  }

  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }
}

export function serverSecureContext(pair: TlsKeyPair): tls.SecureContext {
  const options: tls.SecureContextOptions = { cert: pair.cert, key: pair.key };
  if (pair.passphrase !== undefined) options.passphrase = pair.passphrase;
  return tls.createSecureContext(options);
}

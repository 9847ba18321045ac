/**
 * RemotingServer (src/net/tcp_server.ts): a remoting server over Bun TCP sockets, one Connection
 * per accepted socket, TCP_NODELAY on, plaintext and/or TLS (src/net/tls.ts).
 *
 * Limits (each logged when hit, at most one line per second per kind with a count of the rest):
 * - connectionsMax / connectionsPerAddressMax: one more socket is closed at accept.
 * - requestsInFlightMax: per connection, enforced by Connection (SYSTEM_BUSY).
 * - idleTimeoutMs: a peer with nothing read or written for this long and no request in flight
 *   is closed (RocketMQ's serverChannelMaxIdleTimeSeconds).
 * - partialFrameTimeoutMs: a peer that started a frame and has not finished it for this long
 *   is closed (a slow or stuck sender), unless we paused reading from it ourselves.
 */
import type { Socket, TCPSocketListener } from "bun";
import type tls from "node:tls";
import { logScoped } from "../log.ts";
import { Connection, normaliseHost, type RequestHandler, type SocketLike } from "./connection.ts";
import { pullFramePool } from "./frame_pool.ts";
import { loadKeyPair, serverSecureContext, TlsBridge, tlsHandshakeByte, type TlsKeyPair, type TlsServerOptions } from "./tls.ts";

const log = logScoped("net");

const releasePulledFrame = (frame: Uint8Array): void => pullFramePool.release(frame);

export interface ServerLimits {
  connectionsMax: number;
  connectionsPerAddressMax: number;
  requestsInFlightMax: number;
  idleTimeoutMs: number;
  partialFrameTimeoutMs: number;
}

export const serverLimitsDefault: ServerLimits = {
  connectionsMax: 10_000,
  connectionsPerAddressMax: 1_000,
  requestsInFlightMax: 4_096,
  idleTimeoutMs: 120_000,
  partialFrameTimeoutMs: 30_000,
};

export interface ServerOptions {
  /** "broker" or "namesrv": named in log lines. */
  name?: string;
  hostname: string;
  port: number;
  frameBytesMax: number;
  sendBytesMax: number;
  onRequest: RequestHandler;
  onClose?: (connection: Connection) => void;
  limits?: Partial<ServerLimits>;
  /** Absent or mode "off": plaintext only. */
  tls?: TlsServerOptions | null;
  /** Every connection's ConnectionOptions.beforeWrite. */
  beforeWrite?: () => boolean;
}

/** One accepted socket: its Connection once we know how it speaks (permissive decides on the first byte). */
interface Peer {
  readonly socket: Socket<Peer | null>;
  readonly host: string;
  readonly openedMs: number;
  connection: Connection | null;
  bridge: TlsBridge | null;
  released: boolean;
}

export class RemotingServer {
  private listener: TCPSocketListener<Peer | null> | null = null;
  readonly connections = new Set<Connection>();
  private readonly peers = new Set<Peer>();
  private readonly perAddress = new Map<string, number>();
  private readonly limits: ServerLimits;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private keyPair: TlsKeyPair | null = null;
  private secureContext: tls.SecureContext | null = null;
  private readonly limitLogs = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(private readonly options: ServerOptions) {
    this.limits = { ...serverLimitsDefault, ...(options.limits ?? {}) };
  }

  get tlsMode(): "off" | "permissive" | "enforcing" {
    return this.options.tls?.mode ?? "off";
  }

  start(): number {
    const server = this;
    const mode = this.tlsMode;
    if (mode !== "off") {
      const files = this.options.tls!;
      this.keyPair = loadKeyPair(files);
      if (mode === "permissive") this.secureContext = serverSecureContext(this.keyPair);
    }
    const handlers = {
      open(socket: Socket<Peer | null>) {
        server.onOpen(socket);
      },
      data(socket: Socket<Peer | null>, chunk: Uint8Array) {
        const peer = socket.data;
        if (!peer) return;
        if (peer.bridge) peer.bridge.feed(chunk);
        else if (peer.connection) peer.connection.onData(chunk);
        else server.onFirstBytes(peer, chunk);
      },
      drain(socket: Socket<Peer | null>) {
        const peer = socket.data;
        if (peer?.bridge) peer.bridge.onSocketDrain();
        else peer?.connection?.flush(true);
      },
      close(socket: Socket<Peer | null>) {
        if (socket.data) server.onSocketClosed(socket.data);
      },
      error(socket: Socket<Peer | null>) {
        if (socket.data) server.onSocketClosed(socket.data);
      },
      handshake(socket: Socket<Peer | null>, success: boolean, error: Error | null) {
        if (success || !socket.data) return;
        // A peer that connects and leaves without a byte (a port probe) is no refusal worth a line.
        if (error && /disconnected before secure TLS/i.test(error.message)) log.debug("connection.tls_abandoned", { peer: socket.data.host });
        else server.limitHit("connection.tls_refused", { peer: socket.data.host, reason: error?.message ?? "handshake failed", mode });
        socket.terminate();
      },
    };
    this.listener =
      mode === "enforcing"
        ? Bun.listen<Peer | null>({ hostname: this.options.hostname, port: this.options.port, tls: { ...this.keyPair! }, socket: handlers })
        : Bun.listen<Peer | null>({ hostname: this.options.hostname, port: this.options.port, socket: handlers });
    const sweepMs = Math.max(50, Math.min(1000, Math.floor(Math.min(this.limits.idleTimeoutMs, this.limits.partialFrameTimeoutMs) / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs);
    return this.listener.port;
  }

  private onOpen(socket: Socket<Peer | null>): void {
    socket.data = null;
    const host = normaliseHost(socket.remoteAddress ?? "");
    const { connectionsMax, connectionsPerAddressMax } = this.limits;
    if (this.peers.size >= connectionsMax) {
      this.limitHit("connection.refused", { peer: host, reason: "maxConnections", limit: connectionsMax });
      socket.terminate();
      return;
    }
    const fromHost = this.perAddress.get(host) ?? 0;
    if (fromHost >= connectionsPerAddressMax) {
      this.limitHit("connection.refused", { peer: host, reason: "maxConnectionsPerAddress", limit: connectionsPerAddressMax });
      socket.terminate();
      return;
    }
    socket.setNoDelay(true);
    const peer: Peer = { socket, host, openedMs: performance.now(), connection: null, bridge: null, released: false };
    socket.data = peer;
    this.peers.add(peer);
    this.perAddress.set(host, fromHost + 1);
    // Permissive waits for the first byte; the others know already.
    if (this.tlsMode !== "permissive") peer.connection = this.newConnection(socket, this.tlsMode === "off");
  }

  private onFirstBytes(peer: Peer, chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (chunk[0] === tlsHandshakeByte) {
      const bridge = new TlsBridge(peer.socket as Socket<unknown>, this.secureContext!, {
        onData: (data) => peer.connection?.onData(data),
        onDrain: () => peer.connection?.flush(true),
        onClose: () => peer.connection?.onClosed(),
        onError: (error) => this.limitHit("connection.tls_refused", { peer: peer.host, reason: error.message, mode: "permissive" }),
      });
      peer.bridge = bridge;
      peer.connection = this.newConnection(bridge, false);
      bridge.feed(chunk);
      return;
    }
    peer.connection = this.newConnection(peer.socket, true);
    peer.connection.onData(chunk);
  }

  /** `plaintext`: a Bun TCP socket without TLS, which copies what write() takes (see pooled frames). */
  private newConnection(socket: SocketLike, plaintext: boolean): Connection {
    const connection = new Connection(socket, {
      frameBytesMax: this.options.frameBytesMax,
      sendBytesMax: this.options.sendBytesMax,
      requestsInFlightMax: this.limits.requestsInFlightMax,
      ...(plaintext ? { releaseWritten: releasePulledFrame, socketCopiesWrites: true } : {}),
      readChunksOwned: !(socket instanceof TlsBridge),
      onRequest: this.options.onRequest,
      ...(this.options.beforeWrite ? { beforeWrite: this.options.beforeWrite } : {}),
      onClose: (closed) => {
        this.connections.delete(closed);
        this.options.onClose?.(closed);
      },
    });
    this.connections.add(connection);
    return connection;
  }

  private onSocketClosed(peer: Peer): void {
    peer.bridge?.onSocketClose();
    peer.connection?.onClosed();
    if (peer.released) return;
    peer.released = true;
    this.peers.delete(peer);
    const left = (this.perAddress.get(peer.host) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(peer.host);
    else this.perAddress.set(peer.host, left);
  }

  /** Drops idle peers and slow senders of a partial frame. */
  private sweep(): void {
    const now = performance.now();
    const { idleTimeoutMs, partialFrameTimeoutMs } = this.limits;
    for (const peer of [...this.peers]) {
      const connection = peer.connection;
      const lastActivityMs = connection ? connection.lastActivityMs : peer.openedMs;
      if (connection && !connection.readPaused && connection.partialFrameSinceMs > 0 && now - connection.partialFrameSinceMs > partialFrameTimeoutMs) {
        this.limitHit("connection.partial_frame_timeout", { peer: connection.remoteAddress, limitMs: partialFrameTimeoutMs });
        this.drop(peer);
      } else if (now - lastActivityMs > idleTimeoutMs && (connection?.requestsInFlight ?? 0) === 0) {
        this.limitHit("connection.idle_closed", { peer: connection?.remoteAddress ?? peer.host, idleMs: Math.round(now - lastActivityMs), limitMs: idleTimeoutMs });
        this.drop(peer);
      }
    }
  }

  private drop(peer: Peer): void {
    if (peer.connection) peer.connection.close(true);
    else peer.socket.terminate();
    this.onSocketClosed(peer);
  }

  /** One warn line per kind per second; the lines skipped meanwhile are counted in the next. */
  private limitHit(event: string, fields: Record<string, unknown>): void {
    const now = performance.now();
    const state = this.limitLogs.get(event) ?? { lastMs: -Infinity, suppressed: 0 };
    this.limitLogs.set(event, state);
    if (now - state.lastMs < 1000) {
      state.suppressed++;
      return;
    }
    const extra = state.suppressed > 0 ? { alsoSinceLastLine: state.suppressed } : {};
    state.lastMs = now;
    state.suppressed = 0;
    log.warn(event, { server: this.options.name ?? "remoting", ...fields, ...extra });
  }

  /** Stop accepting; existing connections stay until closeConnections(). */
  stopAccepting(): void {
    this.listener?.stop(false);
  }

  closeConnections(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const connection of [...this.connections]) connection.close();
    for (const peer of [...this.peers]) if (!peer.connection) peer.socket.terminate();
    this.listener?.stop(true);
    this.listener = null;
  }
}

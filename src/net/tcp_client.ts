// The client side: one Connection per remote address, opened on first use and reopened after
// it closes. Used by brokers (to name servers) and by our client SDK (to both).
import type { Socket } from "bun";
import { Connection, ConnectionClosed, type RequestHandler } from "./connection.ts";
import { frameBytesMaxDefault } from "./frame.ts";
import type { RemotingCommand } from "./remoting_command.ts";
import { signRequest, type Credentials } from "../security/sign.ts";
import { bunClientTls, type TlsClientOption } from "./tls.ts";

export interface ClientOptions {
  frameBytesMax?: number;
  sendBytesMax?: number;
  connectTimeoutMs?: number;
  /** Requests the remote side sends us (e.g. NOTIFY_CONSUMER_IDS_CHANGED). */
  onRequest?: RequestHandler;
  /** Sign every request sent, as RocketMQ's AclClientRPCHook does (src/security/sign.ts). */
  credentials?: Credentials;
  /** Connect with TLS: `true` without checking the server's certificate (as the Java client by default). */
  tls?: TlsClientOption;
}

export class RemotingClient {
  private readonly connections = new Map<string, Promise<Connection>>();
  private closed = false;

  constructor(private readonly options: ClientOptions = {}) {}

  connection(address: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new ConnectionClosed("client is closed"));
    const existing = this.connections.get(address);
    if (existing) return existing;
    // A closed connection leaves the map only if it is still the current one for its address.
    const forget = (): void => {
      if (this.connections.get(address) === opening) this.connections.delete(address);
    };
    const opening = this.open(address, forget);
    this.connections.set(address, opening);
    opening.catch(forget);
    return opening;
  }

  private async open(address: string, forget: () => void): Promise<Connection> {
    const colon = address.lastIndexOf(":");
    const hostname = address.slice(0, colon);
    const port = Number(address.slice(colon + 1));
    const options = this.options;
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tls = bunClientTls(options.tls);
    // With TLS the connection is usable once the handshake is done, not at open.
    let handshaken: (() => void) | null = null;
    let handshakeFailed: ((error: Error) => void) | null = null;
    const handshake = new Promise<void>((resolve, reject) => {
      handshaken = resolve;
      handshakeFailed = reject;
    });
    handshake.catch(() => {});
    const connecting = Bun.connect<Connection>({
      hostname,
      port,
      ...(tls ? { tls } : {}),
      socket: {
        open(socket: Socket<Connection>) {
          socket.setNoDelay(true);
          socket.data = new Connection(socket, {
            frameBytesMax: options.frameBytesMax ?? frameBytesMaxDefault,
            sendBytesMax: options.sendBytesMax ?? 64 * 1024 * 1024,
            onRequest: options.onRequest ?? (() => null),
            onClose: forget,
            readChunksOwned: true, // a Bun socket, TLS or not
            socketCopiesWrites: !tls, // a plain Bun socket copies what write() takes
          });
          if (!tls) handshaken!();
        },
        handshake(socket, success, error) {
          // success is false for an unverified certificate too; rejectUnauthorized decides that.
          if (success || (tls && !tls.rejectUnauthorized && error && !/EPROTO|handshake/i.test(`${(error as { code?: string }).code} ${error.message}`))) handshaken!();
          else {
            handshakeFailed!(new ConnectionClosed(`TLS handshake with ${address} failed: ${error?.message ?? "unknown"}`));
            socket.terminate();
          }
        },
        data(socket, chunk) {
          socket.data.onData(chunk);
        },
        drain(socket) {
          socket.data.flush(true);
        },
        close(socket) {
          handshakeFailed!(new ConnectionClosed(`connection to ${address} closed`));
          socket.data?.onClosed();
        },
        error(socket) {
          handshakeFailed!(new ConnectionClosed(`connection to ${address} failed`));
          socket.data?.onClosed();
        },
        connectError() {},
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ConnectionClosed(`connect to ${address} timed out`)), connectTimeoutMs);
    });
    try {
      const socket = await Promise.race([connecting, timeout]);
      await Promise.race([handshake, timeout]);
      return socket.data;
    } catch (error) {
      throw new ConnectionClosed(`cannot connect to ${address}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async invoke(address: string, request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.options.credentials !== undefined) signRequest(request, this.options.credentials);
    const connection = await this.connection(address);
    return connection.invoke(request, timeoutMs);
  }

  async invokeOneway(address: string, request: RemotingCommand): Promise<void> {
    if (this.options.credentials !== undefined) signRequest(request, this.options.credentials);
    const connection = await this.connection(address);
    connection.invokeOneway(request);
  }

  close(): void {
    this.closed = true;
    for (const opening of this.connections.values()) opening.then((connection) => connection.close(), () => {});
    this.connections.clear();
  }
}

// The client side: one Connection per remote address, opened on first use and reopened after
// it closes. Used by brokers (to name servers) and by our client SDK (to both).
import type { Socket } from "bun";
import { Connection, ConnectionClosed, type RequestHandler } from "./connection.ts";
import { frameBytesMaxDefault } from "./frame.ts";
import type { RemotingCommand } from "./remoting_command.ts";
import { signRequest, type Credentials } from "../security/sign.ts";

export interface ClientOptions {
  frameBytesMax?: number;
  sendBytesMax?: number;
  connectTimeoutMs?: number;
  /** Requests the remote side sends us (e.g. NOTIFY_CONSUMER_IDS_CHANGED). */
  onRequest?: RequestHandler;
  /** Sign every request sent, as RocketMQ's AclClientRPCHook does (src/security/sign.ts). */
  credentials?: Credentials;
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
    const connecting = Bun.connect<Connection>({
      hostname,
      port,
      socket: {
        open(socket: Socket<Connection>) {
          socket.setNoDelay(true);
          socket.data = new Connection(socket, {
            frameBytesMax: options.frameBytesMax ?? frameBytesMaxDefault,
            sendBytesMax: options.sendBytesMax ?? 64 * 1024 * 1024,
            onRequest: options.onRequest ?? (() => null),
            onClose: forget,
          });
        },
        data(socket, chunk) {
          socket.data.onData(chunk);
        },
        drain(socket) {
          socket.data.flush();
        },
        close(socket) {
          socket.data?.onClosed();
        },
        error(socket) {
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

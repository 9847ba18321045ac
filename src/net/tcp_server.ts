// A remoting server over Bun TCP sockets: one Connection per accepted socket, TCP_NODELAY on.
import type { Socket, TCPSocketListener } from "bun";
import { Connection, type RequestHandler } from "./connection.ts";

export interface ServerOptions {
  hostname: string;
  port: number;
  frameBytesMax: number;
  sendBytesMax: number;
  onRequest: RequestHandler;
  onClose?: (connection: Connection) => void;
}

export class RemotingServer {
  private listener: TCPSocketListener<Connection> | null = null;
  readonly connections = new Set<Connection>();

  constructor(private readonly options: ServerOptions) {}

  start(): number {
    const { options, connections } = this;
    this.listener = Bun.listen<Connection>({
      hostname: options.hostname,
      port: options.port,
      socket: {
        open(socket: Socket<Connection>) {
          socket.setNoDelay(true);
          const connection = new Connection(socket, {
            frameBytesMax: options.frameBytesMax,
            sendBytesMax: options.sendBytesMax,
            onRequest: options.onRequest,
            onClose: (closed) => {
              connections.delete(closed);
              options.onClose?.(closed);
            },
          });
          socket.data = connection;
          connections.add(connection);
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
      },
    });
    return this.listener.port;
  }

  /** Stop accepting; existing connections stay until closeConnections(). */
  stopAccepting(): void {
    this.listener?.stop(false);
  }

  closeConnections(): void {
    for (const connection of [...this.connections]) connection.close();
    this.listener?.stop(true);
    this.listener = null;
  }
}

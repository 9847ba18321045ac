/**
 * OpsHttpServer (src/ops/http_server.ts): the operator's HTTP port (--http-port, default 8080,
 * 0 = off). GET /metrics (Prometheus text), /healthz (200 while the process serves), /readyz
 * (200 once every role is listening and the broker has registered; 503 before and while
 * stopping), the dashboard page at / (src/ops/dashboard/ui: bundled by Bun when the binary is
 * compiled and embedded in it, so it works offline) and its read-only JSON under /api/
 * (src/ops/dashboard/api.ts). A port already in use fails start() with a clear error.
 */
import type { Server } from "bun";
import type { DashboardApi } from "./dashboard/api.ts";
import dashboardPage from "./dashboard/ui/index.html";
import type { Metrics } from "./metrics.ts";

export class OpsHttpServer {
  private server: Server<undefined> | null = null;
  ready = false;
  /** The dashboard's JSON, set once the roles exist; /api/ answers 503 until then. */
  api: DashboardApi | null = null;

  constructor(
    private readonly hostname: string,
    private readonly port: number,
    private readonly metrics: Metrics,
  ) {}

  /** Returns the port listened on. Throws when it cannot listen. */
  start(): number {
    const metrics = this.metrics;
    try {
      this.server = Bun.serve({
        hostname: this.hostname,
        port: this.port,
        development: false,
        // Bun 1.4.5 turns SO_REUSEPORT on with development: false; a port in use must fail the start.
        reusePort: false,
        routes: { "/": dashboardPage, "/ui": dashboardPage },
        fetch: async (request) => {
          const url = new URL(request.url);
          const path = url.pathname;
          if (request.method !== "GET" && request.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
          if (path.startsWith("/api/")) return this.api ? this.api.handle(url) : new Response("starting\n", { status: 503 });
          switch (path) {
            case "/metrics":
              return new Response(await metrics.text(), { headers: { "content-type": metrics.contentType } });
            case "/healthz":
              return new Response("ok\n");
            case "/readyz":
              return this.ready ? new Response("ready\n") : new Response("not ready\n", { status: 503 });
            default:
              return new Response("not found: try / (dashboard), /metrics, /healthz or /readyz\n", { status: 404 });
          }
        },
      });
    } catch (error) {
      throw new Error(`cannot listen on HTTP port ${this.hostname}:${this.port}: ${error instanceof Error ? error.message : String(error)} (--http-port N to choose another, 0 to turn it off)`);
    }
    return this.server.port ?? this.port;
  }

  stop(): void {
    this.ready = false;
    this.server?.stop(true);
    this.server = null;
  }
}

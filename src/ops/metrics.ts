/**
 * Metrics (src/ops/metrics.ts): what /metrics serves, in Prometheus text format (prom-client).
 *
 *   bolide_messages_in_total{topic}            messages stored by sends
 *   bolide_bytes_in_total{topic}               their body bytes
 *   bolide_messages_out_total{topic}           messages handed to consumers by pulls
 *   bolide_bytes_out_total{topic}              their record bytes
 *   bolide_consumer_lag{group,topic,queue_id}  max offset − committed offset, at scrape time
 *   bolide_request_duration_seconds{code}      broker request latency by request code
 *   bolide_flush_duration_seconds              commit-log fdatasync latency
 *   bolide_store_fsyncs_total                  commit-log fdatasync calls (under SYNC_FLUSH, group
 *                                              commit makes them far fewer than messages in)
 *   bolide_connections{role}                   open client connections
 *   bolide_store_bytes                         bytes between the commit log's min and max offsets
 *   bolide_store_disk_used_ratio               use of the disk holding the data dir (0..1)
 *   plus prom-client's process_* and nodejs_* defaults (RSS, CPU, heap, event-loop lag)
 *
 * The broker calls the record* methods on its hot paths: one labelled increment per request,
 * never per message. Gauges are computed when scraped.
 */
import { statfsSync } from "node:fs";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface MetricsSource {
  /** Every committed offset: group, topic, queue id, offset. */
  committedOffsets(): Iterable<{ group: string; topic: string; queueId: number; offset: number }>;
  maxOffset(topic: string, queueId: number): number;
  storeBytes(): number;
  /** Commit-log fdatasync calls since start. */
  commitLogFsyncs(): number;
  dataDir: string;
  connections(): { namesrv: number; broker: number };
  /** A master's view of its slaves (null on other roles): how many confirm, and the bytes the best one lacks. */
  replication?(): { slaves: number; lagBytes: number } | null;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly messagesIn: Counter<"topic">;
  private readonly bytesIn: Counter<"topic">;
  private readonly messagesOut: Counter<"topic">;
  private readonly bytesOut: Counter<"topic">;
  private readonly requestSeconds: Histogram<"code">;
  private readonly flushSeconds: Histogram;
  private source: MetricsSource | null = null;
  /** The same traffic as plain running totals, for the dashboard's throughput chart (src/ops/dashboard). */
  readonly totals = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.messagesIn = new Counter({ name: "bolide_messages_in_total", help: "Messages stored by sends", labelNames: ["topic"], registers });
    this.bytesIn = new Counter({ name: "bolide_bytes_in_total", help: "Body bytes of messages stored by sends", labelNames: ["topic"], registers });
    this.messagesOut = new Counter({ name: "bolide_messages_out_total", help: "Messages handed to consumers by pulls", labelNames: ["topic"], registers });
    this.bytesOut = new Counter({ name: "bolide_bytes_out_total", help: "Record bytes handed to consumers by pulls", labelNames: ["topic"], registers });
    this.requestSeconds = new Histogram({
      name: "bolide_request_duration_seconds",
      help: "Broker request latency by request code (held pulls included)",
      labelNames: ["code"],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 20],
      registers,
    });
    this.flushSeconds = new Histogram({
      name: "bolide_flush_duration_seconds",
      help: "Commit-log fdatasync latency",
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: "bolide_consumer_lag",
      help: "Messages a consumer group has not consumed yet, per queue (max offset - committed offset)",
      labelNames: ["group", "topic", "queue_id"],
      registers,
      collect() {
        this.reset();
        const source = metrics.source;
        if (!source) return;
        for (const { group, topic, queueId, offset } of source.committedOffsets()) {
          this.set({ group, topic, queue_id: String(queueId) }, Math.max(0, source.maxOffset(topic, queueId) - offset));
        }
      },
    });
    new Gauge({
      name: "bolide_connections",
      help: "Open client connections",
      labelNames: ["role"],
      registers,
      collect() {
        const counts = metrics.source?.connections();
        if (!counts) return;
        this.set({ role: "namesrv" }, counts.namesrv);
        this.set({ role: "broker" }, counts.broker);
      },
    });
    new Counter({
      name: "bolide_store_fsyncs_total",
      help: "Commit-log fdatasync calls",
      registers,
      collect() {
        if (!metrics.source) return;
        // The store keeps the running total; mirror it at scrape time (nothing on the flush path).
        this.reset();
        this.inc(metrics.source.commitLogFsyncs());
      },
    });
    new Gauge({
      name: "bolide_replication_slaves",
      help: "Slaves streaming from this master (HA connections that reported an offset)",
      registers,
      collect() {
        const replication = metrics.source?.replication?.();
        if (replication) this.set(replication.slaves);
      },
    });
    new Gauge({
      name: "bolide_replication_lag_bytes",
      help: "Commit-log bytes written on this master and not yet confirmed by its most advanced slave",
      registers,
      collect() {
        const replication = metrics.source?.replication?.();
        if (replication) this.set(replication.lagBytes);
      },
    });
    new Gauge({
      name: "bolide_store_bytes",
      help: "Bytes kept in the commit log",
      registers,
      collect() {
        if (metrics.source) this.set(metrics.source.storeBytes());
      },
    });
    new Gauge({
      name: "bolide_store_disk_used_ratio",
      help: "Use of the disk holding the data dir, 0..1",
      registers,
      collect() {
        if (!metrics.source) return;
        try {
          const stats = statfsSync(metrics.source.dataDir);
          this.set(stats.blocks > 0 ? (stats.blocks - stats.bavail) / stats.blocks : 0);
        } catch {
          // data dir not there yet
        }
      },
    });
  }

  attach(source: MetricsSource): void {
    this.source = source;
  }

  recordSend(topic: string, messages: number, bodyBytes: number): void {
    this.messagesIn.inc({ topic }, messages);
    this.bytesIn.inc({ topic }, bodyBytes);
    this.totals.messagesIn += messages;
    this.totals.bytesIn += bodyBytes;
  }
  recordPull(topic: string, messages: number, recordBytes: number): void {
    this.messagesOut.inc({ topic }, messages);
    this.bytesOut.inc({ topic }, recordBytes);
    this.totals.messagesOut += messages;
    this.totals.bytesOut += recordBytes;
  }
  recordRequest(code: number, seconds: number): void {
    this.requestSeconds.observe({ code: String(code) }, seconds);
  }
  recordFlush(seconds: number): void {
    this.flushSeconds.observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
  get contentType(): string {
    return this.registry.contentType;
  }
}

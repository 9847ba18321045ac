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
 * The broker calls the record* methods on its hot paths, once per request: they add to plain
 * numbers (a Map lookup, a few increments, nothing allocated), and prom-client reads those
 * totals when /metrics is scraped (collect hooks, RequestHistogram). Gauges are computed then too.
 */
import { statfsSync } from "node:fs";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { assert } from "../assert.ts";

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

/** Running totals of one topic's traffic, read by the counters' collect hooks. */
interface TopicTraffic {
  messages: number;
  bytes: number;
}

/** One request code's latency histogram: counts per bucket (not cumulative; the last is +Inf), sum, count. */
interface CodeLatency {
  readonly code: string;
  readonly bucketCounts: Float64Array;
  sum: number;
  count: number;
}

/**
 * bolide_request_duration_seconds: prom-client's Histogram hashes its label object on every
 * observe(), which cost more than the rest of a small request's bookkeeping; this one keeps a
 * plain array of counts per request code and builds prom-client's exposition values (the same
 * lines a Histogram<"code"> prints) only when scraped. Registered with Registry.registerMetric.
 */
export class RequestHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly byCode = new Map<number, CodeLatency>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds in seconds, ascending. */
    private readonly buckets: readonly number[],
  ) {
    for (let i = 1; i < buckets.length; i++) assert(buckets[i - 1]! < buckets[i]!, "histogram buckets must ascend");
  }

  observe(code: number, seconds: number): void {
    let latency = this.byCode.get(code);
    if (latency === undefined) {
      latency = { code: String(code), bucketCounts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.byCode.set(code, latency);
    }
    let bucket = 0;
    while (bucket < this.buckets.length && seconds > this.buckets[bucket]!) bucket++;
    latency.bucketCounts[bucket]!++;
    latency.sum += seconds;
    latency.count++;
  }

  /** prom-client's metric shape (what Histogram.get() returns): cumulative buckets, then _sum and _count, per code. */
  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> } {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const latency of this.byCode.values()) {
      let cumulative = 0;
      for (let bucket = 0; bucket <= this.buckets.length; bucket++) {
        cumulative += latency.bucketCounts[bucket]!;
        const le = bucket < this.buckets.length ? this.buckets[bucket]! : "+Inf";
        values.push({ labels: { le, code: latency.code }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { code: latency.code }, value: latency.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { code: latency.code }, value: latency.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly trafficIn = new Map<string, TopicTraffic>();
  private readonly trafficOut = new Map<string, TopicTraffic>();
  private readonly requestSeconds: RequestHistogram;
  private readonly flushSeconds: Histogram;
  private source: MetricsSource | null = null;
  /** The same traffic as plain running totals, for the dashboard's throughput chart (src/ops/dashboard). */
  readonly totals = { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0 };

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const trafficCounter = (name: string, help: string, traffic: Map<string, TopicTraffic>, field: keyof TopicTraffic): void => {
      new Counter({
        name, help, labelNames: ["topic"], registers,
        collect() {
          this.reset();
          for (const [topic, totals] of traffic) this.inc({ topic }, totals[field]);
        },
      });
    };
    trafficCounter("bolide_messages_in_total", "Messages stored by sends", this.trafficIn, "messages");
    trafficCounter("bolide_bytes_in_total", "Body bytes of messages stored by sends", this.trafficIn, "bytes");
    trafficCounter("bolide_messages_out_total", "Messages handed to consumers by pulls", this.trafficOut, "messages");
    trafficCounter("bolide_bytes_out_total", "Record bytes handed to consumers by pulls", this.trafficOut, "bytes");
    this.requestSeconds = new RequestHistogram(
      "bolide_request_duration_seconds",
      "Broker request latency by request code (held pulls included)",
      [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 20],
    );
    // prom-client's Metric type wants the class's private fields; the registry only calls name and get().
    this.registry.registerMetric(this.requestSeconds as unknown as Histogram);
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
    addTraffic(this.trafficIn, topic, messages, bodyBytes);
    this.totals.messagesIn += messages;
    this.totals.bytesIn += bodyBytes;
  }
  recordPull(topic: string, messages: number, recordBytes: number): void {
    addTraffic(this.trafficOut, topic, messages, recordBytes);
    this.totals.messagesOut += messages;
    this.totals.bytesOut += recordBytes;
  }
  recordRequest(code: number, seconds: number): void {
    this.requestSeconds.observe(code, seconds);
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

function addTraffic(traffic: Map<string, TopicTraffic>, topic: string, messages: number, bytes: number): void {
  const totals = traffic.get(topic);
  if (totals === undefined) {
    traffic.set(topic, { messages, bytes });
    return;
  }
  totals.messages += messages;
  totals.bytes += bytes;
}

// The dashboard page (src/ops/dashboard/ui/app.ts): preact + htm, uPlot for the throughput chart.
// Bun bundles this file with its imports when the binary is compiled (index.html is imported by
// src/ops/http_server.ts); the browser loads nothing from elsewhere.
//
// It only reads: /api/overview, /api/topics and /api/groups every 5 s, /api/throughput every 1 s,
// /api/messages on a search. Every value from the broker (topic and group names, keys, bodies,
// properties) is rendered as a text node by preact, never as HTML.
import { h, render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import uPlot from "uplot";

const html = htm.bind(h);

// ------------------------------------------------------------------------------------ API types

interface Overview {
  role: string;
  version: string;
  clusterSource: string;
  clusters: Array<{ cluster: string; brokers: Array<{ brokerName: string; addrs: Array<{ brokerId: number; addr: string }> }> }>;
  broker: null | {
    cluster: string; brokerName: string; brokerId: number; addr: string; bootTimestampMs: number; flush: string;
    commitLogMinOffset: number; commitLogMaxOffset: number; storeBytes: number; diskFull: boolean;
    topicCount: number; consumerGroupCount: number; pullRequestsHeld: number;
  };
}
interface QueueRow { queueId: number; minOffset: number; maxOffset: number; messages: number; lastStoreTimestamp: number }
interface TopicRow {
  topic: string; internal: boolean; perm: number | null; readQueueNums: number | null; writeQueueNums: number | null;
  messages: number; lastStoreTimestamp: number; queues: QueueRow[];
}
interface GroupRow {
  group: string; internal: boolean; online: number; clientIds: string[]; messageModel: string | null; consumeType: string | null; lag: number;
  topics: Array<{ topic: string; lag: number; queues: Array<{ queueId: number; brokerOffset: number; consumerOffset: number; lag: number }> }>;
}
interface TracedMessage {
  msgId: string; offsetMsgId: string; topic: string; tags: string | null; keys: string[]; brokerName: string;
  queueId: number; queueOffset: number; commitLogOffset: number; storeSize: number; bornTimestamp: number; bornHost: string;
  storeTimestamp: number; storeHost: string; reconsumeTimes: number; properties: Record<string, string>;
  bodyBytes: number; body: string; consumers: Array<{ group: string; committedOffset: number; consumed: boolean }>;
}
interface Throughput {
  intervalMs: number;
  points: Array<{ t: number; messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number }>;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const data = (await response.json().catch(() => ({ error: `HTTP ${response.status}` }))) as T & { error?: string };
  if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
  return data;
}

/** Polls `path` every `everyMs`; returns the latest answer and the latest error. */
function usePoll<T>(path: string, everyMs: number): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  useEffect(() => {
    let stopped = false;
    const load = (): void => {
      getJson<T>(path).then(
        (data) => !stopped && setState({ data, error: null }),
        (error: unknown) => !stopped && setState((old) => ({ data: old.data, error: String(error instanceof Error ? error.message : error) })),
      );
    };
    load();
    const timer = setInterval(load, everyMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [path, everyMs]);
  return state;
}

// ----------------------------------------------------------------------------------- formatting

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
function time(ms: number): string {
  if (!ms || ms <= 0) return "–";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
const number = (n: number): string => n.toLocaleString("en-US");
function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
function rate(n: number): string {
  return n >= 100 ? number(Math.round(n)) : n.toFixed(1);
}
/** datetime-local input text to ms since the epoch (local time), or "" when empty. */
function localInputMs(text: string): string {
  if (text === "") return "";
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? String(ms) : "";
}

// ----------------------------------------------------------------------------------- components

function Header({ overview }: { overview: Overview | null }) {
  const broker = overview?.broker;
  return html`<header>
    <h1>Bolide</h1>
    <div class="facts">
      ${overview && html`<span>version <b>${overview.version}</b></span><span>role <b>${overview.role}</b></span>`}
      ${broker && html`<span>broker <b>${broker.brokerName}</b> at <b>${broker.addr}</b></span>
        <span>up since <b>${time(broker.bootTimestampMs)}</b></span>
        <span>store <b>${bytes(broker.storeBytes)}</b> (${broker.flush} flush)</span>
        ${broker.diskFull && html`<span class="error"><b>disk full: sends refused</b></span>`}`}
    </div>
  </header>
  <nav>
    <a href="#cluster">Cluster</a><a href="#throughput">Throughput</a><a href="#topics">Topics</a><a href="#groups">Consumer groups</a><a href="#messages">Messages</a>
  </nav>`;
}

function ClusterSection({ overview, error }: { overview: Overview | null; error: string | null }) {
  const rows = (overview?.clusters ?? []).flatMap((cluster) =>
    cluster.brokers.flatMap((broker) => broker.addrs.map((addr) => ({ cluster: cluster.cluster, brokerName: broker.brokerName, ...addr }))),
  );
  return html`<section id="cluster">
    <h2>Cluster <span class="tools muted">${overview ? `from the ${overview.clusterSource}` : ""}</span></h2>
    ${error && html`<p class="error">${error}</p>`}
    <table data-testid="cluster-table">
      <thead><tr><th>Cluster</th><th>Broker</th><th>Id</th><th>Address</th><th>Role</th></tr></thead>
      <tbody>
        ${rows.map((row) => html`<tr key=${`${row.brokerName}/${row.brokerId}`}>
          <td>${row.cluster}</td><td>${row.brokerName}</td><td>${row.brokerId}</td><td class="mono">${row.addr}</td>
          <td>${row.brokerId === 0 ? "master" : "slave"}</td></tr>`)}
        ${rows.length === 0 && html`<tr><td colspan="5" class="muted">No broker registered.</td></tr>`}
      </tbody>
    </table>
    ${overview?.broker && html`<p class="muted">This broker: ${number(overview.broker.topicCount)} topics, ${number(overview.broker.consumerGroupCount)} online consumer groups,
      commit log offsets ${number(overview.broker.commitLogMinOffset)}…${number(overview.broker.commitLogMaxOffset)}, long-polling pulls held: ${number(overview.broker.pullRequestsHeld)}.</p>`}
  </section>`;
}

function ThroughputSection() {
  const { data, error } = usePoll<Throughput>("/api/throughput", 1000);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!box.current) return;
    const width = Math.max(320, box.current.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 200,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{}, { label: "messages / s", size: 60 }],
        series: [
          {},
          { label: "in (sent)", stroke: "#2557d6", width: 2, fill: "rgba(37,87,214,0.08)" },
          { label: "out (pulled)", stroke: "#1a7f37", width: 2 },
        ],
      },
      [[], [], []],
      box.current,
    );
    const onResize = (): void => {
      if (box.current && plot.current) plot.current.setSize({ width: Math.max(320, box.current.clientWidth), height: 200 });
    };
    window.addEventListener("resize", onResize);
    return () => {
      window.removeEventListener("resize", onResize);
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    if (!plot.current || !data) return;
    const points = data.points;
    plot.current.setData([points.map((p) => p.t / 1000), points.map((p) => p.messagesIn), points.map((p) => p.messagesOut)]);
  }, [data]);
  const last = data?.points[data.points.length - 1];
  return html`<section id="throughput">
    <h2>Throughput <span class="tools muted">last ${data ? Math.round((data.points.length * data.intervalMs) / 1000) : 0} s, every ${data ? data.intervalMs / 1000 : 1} s</span></h2>
    ${error && html`<p class="error">${error}</p>`}
    <div class="rates" data-testid="rates">
      <span>in <b>${rate(last?.messagesIn ?? 0)}</b> msg/s (${bytes(Math.round(last?.bytesIn ?? 0))}/s)</span>
      <span>out <b>${rate(last?.messagesOut ?? 0)}</b> msg/s (${bytes(Math.round(last?.bytesOut ?? 0))}/s)</span>
    </div>
    <div class="chart" ref=${box}></div>
  </section>`;
}

function TopicsSection({ topics, error }: { topics: TopicRow[] | null; error: string | null }) {
  const [filter, setFilter] = useState("");
  const [showInternal, setShowInternal] = useState(false);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (topic: string): void => {
    const next = new Set(open);
    if (next.has(topic)) next.delete(topic);
    else next.add(topic);
    setOpen(next);
  };
  const shown = (topics ?? []).filter((row) => (showInternal || !row.internal) && row.topic.toLowerCase().includes(filter.toLowerCase()));
  return html`<section id="topics">
    <h2>Topics
      <span class="tools">
        <input type="text" placeholder="filter" value=${filter} onInput=${(e: Event) => setFilter((e.target as HTMLInputElement).value)} />
        <label><input type="checkbox" checked=${showInternal} onChange=${(e: Event) => setShowInternal((e.target as HTMLInputElement).checked)} /> system topics</label>
      </span>
    </h2>
    ${error && html`<p class="error">${error}</p>`}
    <table data-testid="topics-table">
      <thead><tr><th>Topic</th><th class="num">Queues (r/w)</th><th class="num">Messages</th><th class="num">Min offsets</th><th class="num">Max offsets</th><th>Last stored</th></tr></thead>
      <tbody>
        ${shown.map((row) => {
          const isOpen = open.has(row.topic);
          const minTotal = row.queues.reduce((sum, q) => sum + q.minOffset, 0);
          const maxTotal = row.queues.reduce((sum, q) => sum + q.maxOffset, 0);
          return html`
            <tr key=${row.topic} data-topic=${row.topic}>
              <td><button class="toggle" title="queues" onClick=${() => toggle(row.topic)}>${isOpen ? "▾" : "▸"}</button>${row.topic}</td>
              <td class="num">${row.readQueueNums ?? "–"}/${row.writeQueueNums ?? "–"}</td>
              <td class="num" data-testid="topic-messages">${number(row.messages)}</td>
              <td class="num">${number(minTotal)}</td>
              <td class="num">${number(maxTotal)}</td>
              <td>${time(row.lastStoreTimestamp)}</td>
            </tr>
            ${isOpen && html`<tr class="sub" key=${`${row.topic}/queues`}><td colspan="6">
              <table>
                <thead><tr><th class="num">Queue</th><th class="num">Min offset</th><th class="num">Max offset</th><th class="num">Messages</th><th>Last stored</th></tr></thead>
                <tbody>${row.queues.map((q) => html`<tr key=${q.queueId}><td class="num">${q.queueId}</td><td class="num">${number(q.minOffset)}</td>
                  <td class="num">${number(q.maxOffset)}</td><td class="num">${number(q.messages)}</td><td>${time(q.lastStoreTimestamp)}</td></tr>`)}</tbody>
              </table></td></tr>`}`;
        })}
        ${topics && shown.length === 0 && html`<tr><td colspan="6" class="muted">No topics${filter ? " match" : ""}.</td></tr>`}
      </tbody>
    </table>
  </section>`;
}

function GroupsSection({ groups, error }: { groups: GroupRow[] | null; error: string | null }) {
  const [showInternal, setShowInternal] = useState(false);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (group: string): void => {
    const next = new Set(open);
    if (next.has(group)) next.delete(group);
    else next.add(group);
    setOpen(next);
  };
  const shown = (groups ?? []).filter((row) => showInternal || !row.internal);
  return html`<section id="groups">
    <h2>Consumer groups
      <span class="tools">
        <span class="muted">lag = max offset − committed offset, per queue</span>
        <label><input type="checkbox" checked=${showInternal} onChange=${(e: Event) => setShowInternal((e.target as HTMLInputElement).checked)} /> system groups</label>
      </span>
    </h2>
    ${error && html`<p class="error">${error}</p>`}
    <table data-testid="groups-table">
      <thead><tr><th>Group</th><th class="num">Online clients</th><th>Model</th><th>Topics</th><th class="num">Lag</th></tr></thead>
      <tbody>
        ${shown.map((row) => {
          const isOpen = open.has(row.group);
          return html`
            <tr key=${row.group} data-group=${row.group}>
              <td><button class="toggle" title="queues" onClick=${() => toggle(row.group)}>${isOpen ? "▾" : "▸"}</button>${row.group}</td>
              <td class="num">${row.online}</td>
              <td>${row.messageModel ?? "–"}</td>
              <td>${row.topics.map((t) => html`<span class="tag">${t.topic}</span>`)}</td>
              <td class="num ${row.lag > 0 ? "lag" : "zero"}" data-testid="group-lag">${number(row.lag)}</td>
            </tr>
            ${isOpen && html`<tr class="sub" key=${`${row.group}/queues`}><td colspan="5">
              <table>
                <thead><tr><th>Topic</th><th class="num">Queue</th><th class="num">Broker offset</th><th class="num">Consumer offset</th><th class="num">Lag</th></tr></thead>
                <tbody>${row.topics.flatMap((t) => t.queues.map((q) => html`<tr key=${`${t.topic}/${q.queueId}`}><td>${t.topic}</td><td class="num">${q.queueId}</td>
                  <td class="num">${number(q.brokerOffset)}</td><td class="num">${q.consumerOffset < 0 ? "none" : number(q.consumerOffset)}</td>
                  <td class="num ${q.lag > 0 ? "lag" : "zero"}">${number(q.lag)}</td></tr>`))}</tbody>
              </table>
              ${row.clientIds.length > 0 && html`<p class="muted">Clients: ${row.clientIds.join(", ")}</p>`}
            </td></tr>`}`;
        })}
        ${groups && shown.length === 0 && html`<tr><td colspan="5" class="muted">No consumer groups.</td></tr>`}
      </tbody>
    </table>
  </section>`;
}

function MessageCard({ message }: { message: TracedMessage }) {
  const userProperties = Object.entries(message.properties).filter(([name]) => !["KEYS", "TAGS", "UNIQ_KEY", "WAIT", "MSG_REGION", "TRACE_ON", "CLUSTER"].includes(name));
  return html`<div class="message" data-testid="message" data-msgid=${message.msgId}>
    <div><b class="mono">${message.msgId}</b> ${message.tags && html`<span class="tag">tag ${message.tags}</span>`}
      ${message.keys.map((key) => html`<span class="tag">key ${key}</span>`)}</div>
    <dl data-testid="trace">
      <dt>Stored</dt><dd>${time(message.storeTimestamp)} on ${message.brokerName} (${message.storeHost}), topic ${message.topic}, queue ${message.queueId}, offset ${message.queueOffset}</dd>
      <dt>Commit log</dt><dd>offset ${number(message.commitLogOffset)}, ${number(message.storeSize)} bytes; offset msg id <span class="mono">${message.offsetMsgId}</span></dd>
      <dt>Born</dt><dd>${time(message.bornTimestamp)} at ${message.bornHost}${message.reconsumeTimes > 0 ? `, reconsumed ${message.reconsumeTimes} times` : ""}</dd>
      <dt>Consumed by</dt>
      <dd>${message.consumers.length === 0
        ? html`<span class="muted">no group has committed an offset for this topic</span>`
        : html`<table data-testid="consumers"><thead><tr><th>Group</th><th class="num">Committed offset (queue ${message.queueId})</th><th>Status</th></tr></thead>
          <tbody>${message.consumers.map((c) => html`<tr key=${c.group} data-consumer=${c.group}><td>${c.group}</td><td class="num">${c.committedOffset < 0 ? "none" : number(c.committedOffset)}</td>
            <td class=${c.consumed ? "yes" : "no"}>${c.consumed ? "consumed" : "not yet"}</td></tr>`)}</tbody></table>`}</dd>
      ${userProperties.length > 0 && html`<dt>Properties</dt><dd>${userProperties.map(([name, value]) => html`<span class="tag">${name}=${value}</span>`)}</dd>`}
    </dl>
    <pre data-testid="body">${message.body}</pre>
    <div class="muted">${number(message.bodyBytes)} body bytes${message.body.endsWith("…") ? " (cut)" : ""}</div>
  </div>`;
}

function MessagesSection({ topics }: { topics: TopicRow[] | null }) {
  const [topic, setTopic] = useState("");
  const [key, setKey] = useState("");
  const [msgId, setMsgId] = useState("");
  const [begin, setBegin] = useState("");
  const [end, setEnd] = useState("");
  const [result, setResult] = useState<{ messages: TracedMessage[]; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const search = (event: Event): void => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (topic) params.set("topic", topic);
    if (msgId) params.set("msgId", msgId);
    else if (key) params.set("key", key);
    else {
      if (begin) params.set("begin", localInputMs(begin));
      if (end) params.set("end", localInputMs(end));
      if (!begin && !end) params.set("begin", "0");
    }
    setBusy(true);
    getJson<{ messages: TracedMessage[]; truncated: boolean }>(`/api/messages?${params.toString()}`).then(
      (data) => {
        setResult(data);
        setError(null);
        setBusy(false);
      },
      (failure: unknown) => {
        setResult(null);
        setError(String(failure instanceof Error ? failure.message : failure));
        setBusy(false);
      },
    );
  };
  const value = (set: (text: string) => void) => (e: Event): void => set((e.target as HTMLInputElement).value);
  return html`<section id="messages">
    <h2>Messages <span class="tools muted">by key (with topic), by message id (client or offset id), or by store time (with topic)</span></h2>
    <form class="search" onSubmit=${search}>
      <label>Topic<input type="text" name="topic" list="topic-names" value=${topic} onInput=${value(setTopic)} /></label>
      <datalist id="topic-names">${(topics ?? []).filter((t) => !t.internal).map((t) => html`<option value=${t.topic}></option>`)}</datalist>
      <label>Key<input type="text" name="key" value=${key} onInput=${value(setKey)} /></label>
      <label>Message id<input type="text" name="msgId" size="34" value=${msgId} onInput=${value(setMsgId)} /></label>
      <label>Stored from<input type="datetime-local" step="1" name="begin" value=${begin} onInput=${value(setBegin)} /></label>
      <label>to<input type="datetime-local" step="1" name="end" value=${end} onInput=${value(setEnd)} /></label>
      <button class="primary" type="submit" disabled=${busy}>Search</button>
    </form>
    ${error && html`<p class="error" data-testid="search-error">${error}</p>`}
    ${result && html`<p class="muted" data-testid="search-count">${result.messages.length} message${result.messages.length === 1 ? "" : "s"}${result.truncated ? " (more exist: narrow the search)" : ""}</p>`}
    ${result?.messages.map((message) => html`<${MessageCard} key=${message.offsetMsgId} message=${message} />`)}
  </section>`;
}

function App() {
  const overview = usePoll<Overview>("/api/overview", 5000);
  const topics = usePoll<{ topics: TopicRow[] }>("/api/topics", 5000);
  const groups = usePoll<{ groups: GroupRow[] }>("/api/groups", 5000);
  return html`
    <${Header} overview=${overview.data} />
    <main>
      <${ClusterSection} overview=${overview.data} error=${overview.error} />
      <${ThroughputSection} />
      <${TopicsSection} topics=${topics.data?.topics ?? null} error=${topics.error} />
      <${GroupsSection} groups=${groups.data?.groups ?? null} error=${groups.error} />
      <${MessagesSection} topics=${topics.data?.topics ?? null} />
    </main>`;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}

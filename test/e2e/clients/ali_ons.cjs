#!/usr/bin/env node
// End-to-end driver for the ali-ons 3.12.0 client (a pure-JavaScript RocketMQ 4.x client).
//
// Usage: node ali_ons.cjs <mode> <nameSrv> [args…] [--flag value…]
//
//   produce  <nameSrv> <topic> <count> [--from N] [--tag T]
//       Sync-sends <count> messages, one after another. Body of message i is
//       "ons-e2e:<topic>:<i>" for i in [from, from + count).
//   consume  <nameSrv> <topic> <group> <count> [timeoutMs] [--from N]
//       One clustering push consumer (CONSUME_FROM_FIRST_OFFSET). Succeeds once every index in
//       [from, from + count) arrived; indices outside that range are reported as `unexpected`.
//   scenario <nameSrv> <pubsub|cluster|broadcast> <topic> <groupPrefix> <count> [timeoutMs]
//       Starts two consumers, waits until both have been assigned queues (cluster: a disjoint
//       split covering every queue), then sync-sends <count> messages and waits until each
//       consumer (pubsub, broadcast) or the pair together (cluster) received every index.
//         pubsub    groups <prefix>_A and <prefix>_B, clustering, one consumer each
//         cluster   group <prefix>, two clustering consumers (instanceName c1 and c2)
//         broadcast group <prefix>, two broadcasting consumers (instanceName b1 and b2)
//   create-topic <nameSrv> <brokerAddr> <topic> [queues]
//       UPDATE_AND_CREATE_TOPIC (17) through ali-ons' MQClientAPI.createTopic, then waits until the
//       name server routes the topic. Needed for real RocketMQ, whose name server answers
//       TOPIC_NOT_EXIST for unknown topics (ali-ons does not fall back to TBW102).
//
// Common flags: --timeout ms (default 60000, also the optional positional), --settle ms (default
// 1000: how long a consumer keeps running after the last expected message before close(), so
// that its committed offsets cover everything it consumed), --access-key AK --secret-key SK (ali-ons'
// accessKeyId/accessKeySecret: every request is signed, for a broker with ACL on).
//
// Output: the last line of stdout is one JSON summary ({ ok, mode, …, timings }). Exit code 0 on
// success, 1 on failure or timeout, 2 on bad usage. The process always exits by itself before
// the timeout plus 10 s: ali-ons never closes its hidden CLIENT_INNER_PRODUCER, so nothing here
// relies on the event loop draining.
//
// ali-ons notes that shape this script (see the protocol reference §12):
//   - `httpclient` is mandatory even with `nameSrv` (an empty object is enough).
//   - Clients in one process that share a clientId (ip@instanceName) share one MQClient; a second
//     consumer of the same group is then silently not registered. Every consumer here gets its own
//     instanceName.
//   - Rebalance runs every 10 s; a consumer that started alone keeps all queues until its next
//     rebalance, so `scenario cluster` waits for a clean split before producing.
//   - Logging: ali-ons' warn/error go to stderr with a timestamp; set ONS_LOG=info (or debug) to
//     see its info/debug lines too (very chatty: one line per pull).
'use strict';

const util = require('node:util');
const { Producer, Consumer, Message } = require('ali-ons');

const t0 = Date.now();
const bodyPrefix = 'ons-e2e';

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const positional = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const key = arg.slice(2);
      const value = argv[i + 1];
      if (value === undefined) usage(`flag ${arg} needs a value`);
      flags[key] = value;
      i++;
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

function usage(message) {
  process.stderr.write(`ali_ons.cjs: ${message}\n` +
    'usage: node ali_ons.cjs produce <nameSrv> <topic> <count> [--from N]\n' +
    '       node ali_ons.cjs consume <nameSrv> <topic> <group> <count> [timeoutMs] [--from N]\n' +
    '       node ali_ons.cjs create-topic <nameSrv> <brokerAddr> <topic> [queues]\n' +
    '       node ali_ons.cjs scenario <nameSrv> <pubsub|cluster|broadcast> <topic> <groupPrefix> <count> [timeoutMs]\n');
  process.exit(2);
}

function intArg(value, name) {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) usage(`${name} must be a non-negative integer, got ${value}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Logging and error collection

const logLevel = process.env.ONS_LOG || 'warn';
const verbose = logLevel === 'info' || logLevel === 'debug';
const debug = logLevel === 'debug';

function logLine(level, args) {
  const ms = String(Date.now() - t0).padStart(6);
  process.stderr.write(`[ons ${ms}ms ${level}] ${util.format(...args)}\n`);
}

function note(...args) {
  logLine('note', args);
}

const logger = {
  info(...args) { if (verbose) logLine('info', args); },
  debug(...args) { if (debug) logLine('debug', args); },
  warn(...args) { logLine('warn', args); },
  error(...args) { logLine('error', args); },
};

const errors = [];
function recordError(source, err) {
  const text = `${source}: ${err && err.name ? err.name + ': ' : ''}${err && err.message ? err.message : String(err)}` +
    (err && err.code !== undefined ? ` (code ${err.code})` : '');
  if (errors.length < 50) errors.push(text);
  logLine('error', [text]);
}

// ---------------------------------------------------------------------------------------------
// Exit discipline: one summary line, then process.exit, always.

let summary = { ok: false, mode: process.argv[2] || '', reason: 'not finished' };
let exiting = false;

function finish(ok, extra) {
  if (exiting) return;
  exiting = true;
  summary = Object.assign(summary, extra || {}, { ok, ms: Date.now() - t0 });
  summary.errorCount = errors.length;
  summary.errors = errors.slice(0, 10);
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(ok ? 0 : 1));
  // If stdout is stuck, still leave.
  setTimeout(() => process.exit(ok ? 0 : 1), 2000).unref();
}

process.on('unhandledRejection', err => recordError('unhandledRejection', err));
process.on('uncaughtException', err => {
  recordError('uncaughtException', err);
  finish(false, { reason: 'uncaught exception' });
});

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function closeQuietly(client, what) {
  if (!client) return;
  try {
    await withTimeout(client.close(), 5000, `${what}.close()`);
  } catch (err) {
    recordError(`${what}.close`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

// ACL credentials (--access-key / --secret-key); ali-ons signs every request when both are set.
let credentials = null;

function common(nameSrv) {
  // httpclient is asserted by RemotingClient even when nameSrv is given; {} is enough.
  const options = { nameSrv, httpclient: {}, logger };
  if (credentials) Object.assign(options, credentials);
  return options;
}

function bodyFor(topic, index) {
  return `${bodyPrefix}:${topic}:${index}`;
}

function indexOf(topic, body) {
  const text = body ? body.toString() : '';
  const head = `${bodyPrefix}:${topic}:`;
  if (!text.startsWith(head)) return -1;
  const n = Number(text.slice(head.length));
  return Number.isSafeInteger(n) ? n : -1;
}

async function produce(nameSrv, topic, from, count, tag, producerGroup) {
  const producer = new Producer(Object.assign(common(nameSrv), { producerGroup }));
  producer.on('error', err => recordError('producer', err));
  const started = Date.now();
  await withTimeout(producer.ready(), 15000, 'producer.ready()');
  const readyMs = Date.now() - started;
  const msgIds = [];
  const queues = {};
  const failures = [];
  const sendStarted = Date.now();
  for (let i = from; i < from + count; i++) {
    const msg = new Message(topic, tag, bodyFor(topic, i));
    msg.keys = [`key-${i}`];
    try {
      const result = await producer.send(msg);
      if (result.sendStatus !== 'SEND_OK') {
        failures.push({ index: i, sendStatus: result.sendStatus });
      }
      msgIds.push(result.msgId);
      const q = String(result.messageQueue && result.messageQueue.queueId);
      queues[q] = (queues[q] || 0) + 1;
    } catch (err) {
      failures.push({ index: i, error: `${err.name}: ${err.message}`, code: err.code });
      recordError(`send #${i}`, err);
      if (failures.length >= 20) break; // the broker is clearly broken; stop early
    }
  }
  const sendMs = Date.now() - sendStarted;
  await closeQuietly(producer, 'producer');
  return { sent: msgIds.length, failures, msgIds, queues, readyMs, sendMs };
}

// A consumer that records which indices of [from, from + count) it has seen.
class Tracker {
  constructor(name, topic, from, count) {
    this.name = name;
    this.topic = topic;
    this.from = from;
    this.count = count;
    this.seen = new Set();
    this.deliveries = 0;
    this.duplicates = 0;
    this.unexpected = [];
    this.firstAt = 0;
    this.doneAt = 0;
    this.waiters = [];
    this.msgIds = new Set();
  }

  onMessage(msg) {
    const index = indexOf(this.topic, msg.body);
    this.deliveries++;
    if (!this.firstAt) this.firstAt = Date.now();
    if (index < this.from || index >= this.from + this.count) {
      if (this.unexpected.length < 20) {
        this.unexpected.push({ index, body: String(msg.body).slice(0, 80), msgId: msg.msgId, reconsumeTimes: msg.reconsumeTimes });
      }
      return;
    }
    if (this.seen.has(index)) {
      this.duplicates++;
      return;
    }
    this.seen.add(index);
    this.msgIds.add(msg.msgId);
    if (this.seen.size === this.count) {
      this.doneAt = Date.now();
      for (const resolve of this.waiters.splice(0)) resolve();
    }
  }

  done() {
    return this.seen.size === this.count;
  }

  whenDone() {
    if (this.done()) return Promise.resolve();
    return new Promise(resolve => this.waiters.push(resolve));
  }

  missing(limit) {
    const out = [];
    for (let i = this.from; i < this.from + this.count && out.length < limit; i++) {
      if (!this.seen.has(i)) out.push(i);
    }
    return out;
  }

  report() {
    return {
      name: this.name,
      received: this.seen.size,
      deliveries: this.deliveries,
      duplicates: this.duplicates,
      unexpectedCount: this.deliveries - this.seen.size - this.duplicates,
      unexpected: this.unexpected,
      missingSample: this.missing(10),
      firstMessageMs: this.firstAt ? this.firstAt - t0 : null,
      allReceivedMs: this.doneAt ? this.doneAt - t0 : null,
    };
  }
}

function startConsumer(nameSrv, topic, group, instanceName, isBroadcast, tracker, union) {
  const consumer = new Consumer(Object.assign(common(nameSrv), {
    consumerGroup: group,
    instanceName,
    isBroadcast,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  consumer.on('error', err => recordError(`consumer ${instanceName}`, err));
  consumer.subscribe(topic, '*', async msg => {
    tracker.onMessage(msg);
    if (union) union.onMessage(msg);
  });
  return consumer;
}

// Queue keys of `topic` that the consumer currently pulls (ali-ons internals, read-only).
function assignedQueues(consumer, topic) {
  const out = [];
  const table = consumer.processQueueTable;
  if (!table) return out;
  for (const entry of table.values()) {
    if (entry && entry.messageQueue && entry.messageQueue.topic === topic) out.push(entry.messageQueue.key);
  }
  return out;
}

function routeQueueCount(consumer, topic) {
  const table = consumer._topicSubscribeInfoTable;
  const list = table && table.get(topic);
  return list ? list.length : 0;
}

// Waits until every consumer has queues; for a shared group also that the split is disjoint and
// covers the route. Returns how long that took, or -1 when it never happened (we go on anyway).
async function waitForAssignment(consumers, topic, sharedGroup, limitMs) {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < limitMs) {
    const sets = consumers.map(c => assignedQueues(c, topic));
    const total = routeQueueCount(consumers[0], topic);
    let ok = sets.every(s => s.length > 0) && total > 0;
    if (ok && sharedGroup) {
      const all = new Set();
      let sum = 0;
      for (const s of sets) { sum += s.length; for (const k of s) all.add(k); }
      ok = sum === all.size && all.size === total;
    } else if (ok) {
      ok = sets.every(s => s.length === total);
    }
    const state = `route=${total} assigned=${sets.map(s => s.length).join('/')}`;
    if (state !== last) { note('assignment', state); last = state; }
    if (ok) return Date.now() - started;
    await sleep(200);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Modes

async function modeProduce(nameSrv, positional, flags) {
  const [topic, countText] = positional;
  if (!topic || countText === undefined) usage('produce needs <topic> <count>');
  const count = intArg(countText, 'count');
  const from = intArg(flags.from || '0', '--from');
  const result = await produce(nameSrv, topic, from, count, flags.tag || 'TagA', flags.group || `PG_${topic}`);
  const ok = result.sent === count && result.failures.length === 0;
  finish(ok, {
    reason: ok ? 'all sent' : `sent ${result.sent}/${count}, ${result.failures.length} failures`,
    topic, from, count,
    sent: result.sent,
    failures: result.failures.slice(0, 20),
    queues: result.queues,
    msgIds: result.msgIds,
    timings: { producerReadyMs: result.readyMs, sendMs: result.sendMs },
  });
}

async function modeConsume(nameSrv, positional, flags, timeoutMs) {
  const [topic, group, countText] = positional;
  if (!topic || !group || countText === undefined) usage('consume needs <topic> <group> <count>');
  const count = intArg(countText, 'count');
  const from = intArg(flags.from || '0', '--from');
  const settleMs = intArg(flags.settle || '1000', '--settle');
  const tracker = new Tracker('c1', topic, from, count);
  summary.topic = topic;
  summary.group = group;
  summary.consumers = [tracker];
  const consumer = startConsumer(nameSrv, topic, group, flags.instance || `c1_${process.pid}`, false, tracker, null);
  await withTimeout(consumer.ready(), 15000, 'consumer.ready()');
  const readyMs = Date.now() - t0;
  await tracker.whenDone();
  await sleep(settleMs);
  await closeQuietly(consumer, 'consumer');
  const report = tracker.report();
  const ok = tracker.done();
  finish(ok, {
    reason: ok ? 'all received' : 'incomplete',
    from, count,
    consumers: [report],
    received: report.received,
    duplicates: report.duplicates,
    unexpectedCount: report.unexpectedCount,
    timings: { consumerReadyMs: readyMs, firstMessageMs: report.firstMessageMs, allReceivedMs: report.allReceivedMs },
  });
}

async function modeScenario(nameSrv, positional, flags) {
  const [kind, topic, prefix, countText] = positional;
  if (!['pubsub', 'cluster', 'broadcast'].includes(kind) || !topic || !prefix || countText === undefined) {
    usage('scenario needs <pubsub|cluster|broadcast> <topic> <groupPrefix> <count>');
  }
  const count = intArg(countText, 'count');
  const settleMs = intArg(flags.settle || '1000', '--settle');
  const assignLimitMs = intArg(flags['assign-timeout'] || '35000', '--assign-timeout');
  summary.mode = `scenario ${kind}`;
  summary.topic = topic;

  const specs = kind === 'pubsub'
    ? [{ group: `${prefix}_A`, instance: 'c1', broadcast: false }, { group: `${prefix}_B`, instance: 'c2', broadcast: false }]
    : kind === 'cluster'
      ? [{ group: prefix, instance: 'c1', broadcast: false }, { group: prefix, instance: 'c2', broadcast: false }]
      : [{ group: prefix, instance: 'b1', broadcast: true }, { group: prefix, instance: 'b2', broadcast: true }];
  const union = kind === 'cluster' ? new Tracker('union', topic, 0, count) : null;
  const trackers = specs.map(s => new Tracker(`${s.group}/${s.instance}`, topic, 0, count));
  summary.consumers = trackers;
  const consumers = specs.map((s, i) =>
    startConsumer(nameSrv, topic, s.group, `${s.instance}_${process.pid}`, s.broadcast, trackers[i], union));
  await withTimeout(Promise.all(consumers.map(c => c.ready())), 15000, 'consumer.ready()');
  const readyMs = Date.now() - t0;

  const assignMs = await waitForAssignment(consumers, topic, kind === 'cluster', assignLimitMs);
  if (assignMs < 0) note('queue assignment did not settle; producing anyway');
  const assignment = consumers.map(c => assignedQueues(c, topic).sort());

  const produced = await produce(nameSrv, topic, 0, count, 'TagA', `PG_${prefix}`);
  if (produced.sent !== count) {
    finish(false, { reason: `produce failed: sent ${produced.sent}/${count}`, failures: produced.failures.slice(0, 20) });
    return;
  }
  const producedAtMs = Date.now() - t0;

  const targets = union ? [union] : trackers;
  await Promise.all(targets.map(t => t.whenDone()));
  await sleep(settleMs);
  await Promise.all(consumers.map((c, i) => closeQuietly(c, `consumer ${specs[i].instance}`)));

  const reports = trackers.map(t => t.report());
  let ok = targets.every(t => t.done());
  let reason = ok ? 'all received' : 'incomplete';
  if (kind === 'cluster' && ok && !reports.every(r => r.received > 0)) {
    ok = false;
    reason = 'clustering did not split the work: one consumer received nothing';
  }
  finish(ok, {
    reason,
    count,
    sent: produced.sent,
    consumers: reports,
    union: union ? union.report() : undefined,
    assignment,
    timings: {
      consumersReadyMs: readyMs,
      assignmentSettledMs: assignMs,
      producerReadyMs: produced.readyMs,
      sendMs: produced.sendMs,
      producedAtMs,
      allReceivedMs: Math.max(...targets.map(t => t.doneAt - t0)),
    },
  });
}

async function modeCreateTopic(nameSrv, positional) {
  const [brokerAddr, topic, queuesText] = positional;
  if (!brokerAddr || !topic) usage('create-topic needs <brokerAddr> <topic> [queues]');
  const queues = intArg(queuesText || '4', 'queues');
  const producer = new Producer(Object.assign(common(nameSrv), { producerGroup: `PG_admin_${process.pid}` }));
  producer.on('error', err => recordError('producer', err));
  await withTimeout(producer.ready(), 15000, 'producer.ready()');
  const api = producer._mqClient; // MQClient extends MQClientAPI
  await api.createTopic(brokerAddr, 'TBW102', {
    topicName: topic,
    readQueueNums: queues,
    writeQueueNums: queues,
    perm: 6,
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0,
    order: false,
  }, 5000);
  const createdMs = Date.now() - t0;
  let route = null;
  for (let i = 0; i < 100 && !route; i++) {
    try {
      route = await api.getTopicRouteInfoFromNameServer(topic, 3000);
    } catch (err) {
      if (i === 0) note('route not there yet:', err.message);
    }
    if (!route) await sleep(200);
  }
  await closeQuietly(producer, 'producer');
  finish(!!route, { reason: route ? 'created' : 'no route after create', topic, queues, route, timings: { createdMs } });
}

// retry <topic> <group> <count> [--fail-times N]: the handler throws for the first N deliveries of
// each message; success when every message came N + 1 times, with reconsumeTimes 0..N and its
// own topic (ali-ons restores it from RETRY_TOPIC), through the broker's retry topic.
async function modeRetry(nameSrv, positional, flags) {
  const [topic, group, countText] = positional;
  if (!topic || !group || countText === undefined) usage('retry needs <topic> <group> <count>');
  const count = intArg(countText, 'count');
  const failTimes = intArg(flags['fail-times'] || '1', '--fail-times');
  // With --max-reconsume M the broker gives up after M retries (DLQ): M + 1 deliveries at most.
  const maxReconsume = flags['max-reconsume'] === undefined ? null : intArg(flags['max-reconsume'], '--max-reconsume');
  const expected = Math.min(failTimes, maxReconsume === null ? failTimes : maxReconsume) + 1;
  const sent = await produce(nameSrv, topic, 0, count, 'TagA', `PG_${topic}`);
  if (sent.sent !== count) return finish(false, { reason: 'send failed', failures: sent.failures });
  const deliveries = new Map();
  const consumer = new Consumer(Object.assign(common(nameSrv), {
    consumerGroup: group, instanceName: `retry_${process.pid}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }, maxReconsume === null ? {} : { maxReconsumeTimes: maxReconsume }));
  consumer.on('error', err => recordError('consumer', err));
  let done;
  const allDone = new Promise(resolve => (done = resolve));
  consumer.subscribe(topic, '*', async msg => {
    const index = indexOf(topic, msg.body);
    const list = deliveries.get(index) || [];
    list.push({ reconsumeTimes: msg.reconsumeTimes, topic: msg.topic, at: Date.now() });
    deliveries.set(index, list);
    if ([...deliveries.values()].filter(l => l.length >= expected).length === count) done();
    if (list.length <= failTimes) throw new Error(`refused delivery ${list.length} of message ${index}`);
  });
  await withTimeout(consumer.ready(), 15000, 'consumer.ready()');
  await allDone;
  await sleep(maxReconsume === null ? 500 : 2500); // with a DLQ: long enough to see no more deliveries
  await closeQuietly(consumer, 'consumer');
  const problems = [];
  for (const [index, list] of deliveries) {
    const times = list.map(d => d.reconsumeTimes);
    const want = Array.from({ length: expected }, (_, i) => i);
    if (JSON.stringify(times) !== JSON.stringify(want)) problems.push({ index, times });
    if (list.some(d => d.topic !== topic)) problems.push({ index, topics: list.map(d => d.topic) });
  }
  const gapsMs = [...deliveries.values()].map(l => (l.length > 1 ? l[1].at - l[0].at : null));
  finish(problems.length === 0, { reason: problems.length === 0 ? 'all redelivered' : 'wrong redeliveries', problems: problems.slice(0, 10), firstRetryGapMs: gapsMs.slice(0, 10) });
}

// delay <topic> <group> <level|+ms>: one message with delayTimeLevel, or with setStartDeliverTime
// (now + ms); prints how long it took to arrive.
async function modeDelay(nameSrv, positional) {
  const [topic, group, levelText] = positional;
  if (!topic || !group || levelText === undefined) usage('delay needs <topic> <group> <level>');
  const consumer = new Consumer(Object.assign(common(nameSrv), {
    consumerGroup: group, instanceName: `delay_${process.pid}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
  }));
  consumer.on('error', err => recordError('consumer', err));
  let arrived;
  const arrival = new Promise(resolve => (arrived = resolve));
  consumer.subscribe(topic, '*', async msg => arrived(msg));
  await withTimeout(consumer.ready(), 15000, 'consumer.ready()');
  const producer = new Producer(Object.assign(common(nameSrv), { producerGroup: `PG_${topic}` }));
  await withTimeout(producer.ready(), 15000, 'producer.ready()');
  const msg = new Message(topic, 'TagA', bodyFor(topic, 0));
  // "+N": ali-ons' setStartDeliverTime(now + N ms) (property __STARTDELIVERTIME); else a delay level.
  if (levelText.startsWith('+')) msg.setStartDeliverTime(Date.now() + intArg(levelText.slice(1), 'delay'));
  else msg.delayTimeLevel = intArg(levelText, 'level');
  const sentAt = Date.now();
  const result = await producer.send(msg);
  const got = await arrival;
  const delayMs = Date.now() - sentAt;
  await closeQuietly(producer, 'producer');
  await closeQuietly(consumer, 'consumer');
  finish(true, { reason: 'arrived', delayMs, sendStatus: result.sendStatus, topic: got.topic });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  const [mode, nameSrv, ...rest] = positional;
  if (!mode || !nameSrv) usage('need <mode> <nameSrv>');
  const timeoutPos = mode === 'consume' ? rest[3] : mode === 'scenario' ? rest[4] : undefined;
  const timeoutMs = intArg(flags.timeout || timeoutPos || '60000', 'timeout');
  summary.mode = mode;
  summary.nameSrv = nameSrv;
  if ((flags['access-key'] === undefined) !== (flags['secret-key'] === undefined)) usage('--access-key and --secret-key go together');
  if (flags['access-key'] !== undefined) {
    credentials = { accessKeyId: flags['access-key'], accessKeySecret: flags['secret-key'] };
  }

  // Hard deadline: report what we have and leave, whatever ali-ons is doing.
  setTimeout(() => {
    const consumers = (summary.consumers || []).map(c => (c instanceof Tracker ? c.report() : c));
    finish(false, { reason: `timeout after ${timeoutMs} ms`, consumers });
  }, timeoutMs);

  switch (mode) {
    case 'produce': return modeProduce(nameSrv, rest, flags);
    case 'consume': return modeConsume(nameSrv, rest, flags, timeoutMs);
    case 'scenario': return modeScenario(nameSrv, rest, flags);
    case 'create-topic': return modeCreateTopic(nameSrv, rest);
    case 'retry': return modeRetry(nameSrv, rest, flags);
    case 'delay': return modeDelay(nameSrv, rest);
    default: return usage(`unknown mode ${mode}`);
  }
}

main().catch(err => {
  recordError('main', err);
  const consumers = (summary.consumers || []).map(c => (c instanceof Tracker ? c.report() : c));
  finish(false, { reason: `failed: ${err.message}`, consumers });
});

// Simulation of the ordered-consumption lock protocol on a fake clock: the broker's QueueLockTable
// and a model of each consumer's side (ConsumeOrderlyService: lock before taking a queue, renew,
// consume only while the last confirmed lock is younger than 30 s, commit, unlock on release).
// Consumers join, leave, rebalance with their own (possibly stale) view, pause and lose the
// network at random; the broker sees their connections close (holderGone) at random. Checked after every step:
//   - at most one consumer believes it may consume a queue (its lock is live client-side);
//   - only a consumer whose lock is live commits offsets, and a lapsed lock is never revived: the
//     queue is dropped and taken on afresh from the committed offset (as the SDK does);
//   - per queue, consumption is in offset order: within one holder's tenure every offset follows
//     the previous one; a new tenure starts at or before the next offset (a contiguous repeat
//     from the committed offset), never after it (no gap).
// One seed replays a run: SEED=123 bun test src/order/lock_protocol_sim.test.ts
import { expect, test } from "bun:test";
import { Prng } from "../io/io.ts";
import { QueueLockTable, queueLockExpiryMsDefault, type LockedQueue } from "./queue_lock.ts";

/** The SDK's client-side lock lifetime (rebalanceLockMaxLiveMs) and renewal period. */
const clientLockLiveMs = 30_000;
const renewIntervalMs = 20_000;
const queueCount = 6;
const clientCount = 4;
const stepsPerSeed = 20_000;

interface Held {
  locked: boolean;
  lastLockMs: number;
  nextOffset: number;
  tenure: number;
}

interface SimClient {
  id: string;
  member: boolean;
  pausedUntilMs: number;
  partitionedUntilMs: number;
  lastRenewMs: number;
  held: Map<number, Held>;
}

interface Consumed {
  client: string;
  tenure: number;
  offset: number;
}

function runSeed(seed: number): void {
  const random = new Prng(seed);
  const clock = { now: 1_000_000 };
  const broker = new QueueLockTable(() => clock.now, queueLockExpiryMsDefault);
  const committed = new Array<number>(queueCount).fill(0);
  const history: Consumed[][] = Array.from({ length: queueCount }, () => []);
  const clients: SimClient[] = Array.from({ length: clientCount }, (_, i) => ({
    id: `c${i}`, member: false, pausedUntilMs: 0, partitionedUntilMs: 0, lastRenewMs: 0, held: new Map(),
  }));
  const mq = (queueId: number): LockedQueue => ({ topic: "T", brokerName: "b", queueId });
  let tenures = 0;
  const awake = (client: SimClient): boolean => client.member && clock.now >= client.pausedUntilMs;
  const reachable = (client: SimClient): boolean => clock.now >= client.partitionedUntilMs;
  const live = (held: Held): boolean => held.locked && clock.now - held.lastLockMs <= clientLockLiveMs;

  const release = (client: SimClient, queueId: number): void => {
    const held = client.held.get(queueId);
    if (!held) return;
    client.held.delete(queueId);
    if (!reachable(client)) return; // commit and unlock are lost; the lease runs out on its own
    if (live(held)) committed[queueId] = held.nextOffset; // only a holder writes the offset
    broker.unlockBatch("G", client.id, [mq(queueId)]);
  };
  const rebalance = (client: SimClient): void => {
    const members = clients.filter((c) => c.member).map((c) => c.id).sort();
    const index = members.indexOf(client.id);
    const mine = new Set<number>();
    for (let q = 0; q < queueCount; q++) if (q % members.length === index) mine.add(q);
    for (const queueId of [...client.held.keys()]) if (!mine.has(queueId)) release(client, queueId);
    if (!reachable(client)) return;
    for (const queueId of mine) {
      if (client.held.has(queueId)) continue;
      if (broker.lockBatch("G", client.id, [mq(queueId)]).length === 0) continue;
      client.held.set(queueId, { locked: true, lastLockMs: clock.now, nextOffset: committed[queueId]!, tenure: ++tenures });
    }
  };
  // A lock that lapsed is never revived: the queue is dropped (nothing committed) and taken on
  // afresh by a later rebalance, from the committed offset (the SDK's onLockLost).
  const renew = (client: SimClient): void => {
    client.lastRenewMs = clock.now;
    for (const [queueId, held] of [...client.held]) if (!live(held)) client.held.delete(queueId);
    if (!reachable(client)) return;
    const queues = [...client.held.keys()];
    const ok = new Set(broker.lockBatch("G", client.id, queues.map(mq)).map((q) => q.queueId));
    for (const queueId of queues) {
      if (ok.has(queueId)) client.held.get(queueId)!.lastLockMs = clock.now;
      else client.held.delete(queueId);
    }
  };
  const consume = (client: SimClient): void => {
    for (const [queueId, held] of [...client.held]) {
      if (!live(held)) {
        client.held.delete(queueId);
        continue;
      }
      if (random.below(2) === 0) continue;
      history[queueId]!.push({ client: client.id, tenure: held.tenure, offset: held.nextOffset });
      held.nextOffset++;
      if (reachable(client) && random.below(3) === 0) committed[queueId] = held.nextOffset;
    }
  };

  for (let step = 0; step < stepsPerSeed; step++) {
    clock.now += random.below(1500);
    const client = clients[random.below(clientCount)]!;
    switch (random.below(12)) {
      case 0:
        client.member = true;
        break;
      case 1: // clean leave: commit and unlock what it holds, then unregister
        if (awake(client)) {
          for (const queueId of [...client.held.keys()]) release(client, queueId);
          client.member = false;
        }
        break;
      case 2: // a pause or a cut link: the broker may see the connection close at once
        if (random.below(4) === 0) client.pausedUntilMs = clock.now + random.below(90_000);
        if (random.below(2) === 0) broker.holderGone("G", client.id);
        break;
      case 3:
        if (random.below(4) === 0) client.partitionedUntilMs = clock.now + random.below(90_000);
        if (random.below(2) === 0) broker.holderGone("G", client.id);
        break;
      case 4:
      case 5:
        if (awake(client)) rebalance(client);
        break;
      default:
        if (!awake(client)) break;
        if (clock.now - client.lastRenewMs >= renewIntervalMs) renew(client);
        consume(client);
    }
    // At most one consumer may believe it can consume a queue.
    for (let q = 0; q < queueCount; q++) {
      const believers = clients.filter((c) => c.held.has(q) && live(c.held.get(q)!)).map((c) => c.id);
      if (believers.length > 1) throw new Error(`seed ${seed} step ${step}: queue ${q} live for ${believers.join(", ")}`);
    }
  }
  // Per-queue order: +1 within a tenure; a new tenure never skips ahead.
  let consumed = 0;
  for (const [queueId, events] of history.entries()) {
    consumed += events.length;
    for (let i = 1; i < events.length; i++) {
      const previous = events[i - 1]!;
      const event = events[i]!;
      if (event.tenure === previous.tenure) {
        if (event.offset !== previous.offset + 1) throw new Error(`seed ${seed}: queue ${queueId} jumped ${previous.offset} → ${event.offset}`);
      } else if (event.offset > previous.offset + 1) {
        throw new Error(`seed ${seed}: queue ${queueId} skipped ${previous.offset + 1}..${event.offset - 1} when ${event.client} took over`);
      }
    }
  }
  expect(consumed).toBeGreaterThan(1000); // the run did consume, not just stall
}

test("lock protocol on a fake clock: never two live holders of a queue, per-queue order holds", () => {
  const fixed = process.env["SEED"];
  const seeds = fixed !== undefined ? [Number(fixed)] : [1, 2, 3, 20261125, 424242];
  for (const seed of seeds) runSeed(seed);
});

/**
 * QueueLockTable (src/order/queue_lock.ts): the broker's table of ordered-consumption queue
 * locks, as RocketMQ's RebalanceLockManager: consumer group → message queue → {clientId,
 * lastUpdateMs}. In memory only: a broker restart forgets every lock (clients re-lock within
 * their 20 s renewal period).
 *
 * Guarantees:
 * - lockBatch(group, clientId, mqs) gives the requester every queue that is free, expired
 *   (not renewed for more than queueLockExpiryMs) or already its own, refreshes lastUpdateMs of
 *   each, and returns exactly the queues the requester now holds. At any instant a queue of a
 *   group has at most one holder whose lock is live.
 * - unlockBatch releases only queues held by that clientId (a clean leave: Java and our SDK
 *   unlock their queues before they unregister).
 * - A holder that stops renewing keeps its queues for the 60 s lease, as in RocketMQ: its client
 *   may still be consuming buffered messages for up to 30 s after its last renewal (the
 *   client-side lock lifetime, rebalance.lockMaxLiveTime on the client), and the lease keeps a
 *   second consumer away meanwhile.
 * - holderGone(group, clientId): the holder's last connection closed or its heartbeat expired.
 *   Its locks are released at the earliest moment that is still safe: `orphanLeaseMs` after its
 *   last renewal (the 30 s client-side lifetime + 5 s for a lock reply still in flight) instead
 *   of 60 s. Releasing at the instant of the close would let a second member start on a queue
 *   while a client cut off by the network still consumes what it had buffered (it cannot know
 *   its connection is gone until its next renewal). A dead consumer's queues are thus free 15–35 s
 *   after it died (renewals come every 20 s). The holder renewing again restores the full lease.
 * Requires: a monotonic clock (injected; tests use a fake one). Not thread-safe (Bun is single
 * threaded; every call finishes before the next begins).
 */
import { assert } from "../assert.ts";

/** rocketmq.broker.rebalance.lockMaxLiveTime: a lock not renewed for this long is free. */
export const queueLockExpiryMsDefault = 60_000;
/** Lease left to a holder whose connection closed or heartbeat expired, from its last renewal:
 *  the client-side lock lifetime (30 s in Java and our SDK) + 5 s for a lock reply in flight. */
export const queueLockOrphanLeaseMsDefault = 35_000;

export interface LockedQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  mq: LockedQueue;
  clientId: string;
  lastUpdateMs: number;
  /** queueLockExpiryMs while the holder is alive; orphanLeaseMs once it is gone. */
  leaseMs: number;
}

/** The outcome of asking for one queue: held by the requester now, or held by someone else. */
export const LockStatus = { locked: 0, heldByOther: 1 } as const;
export type LockStatus = (typeof LockStatus)[keyof typeof LockStatus];

export function lockedQueueKey(mq: LockedQueue): string {
  return `${mq.topic}@${mq.brokerName}@${mq.queueId}`;
}

export class QueueLockTable {
  /** group → queue key → entry. */
  private readonly groups = new Map<string, Map<string, LockEntry>>();

  constructor(
    private readonly nowMs: () => number,
    readonly queueLockExpiryMs: number = queueLockExpiryMsDefault,
    readonly orphanLeaseMs: number = queueLockOrphanLeaseMsDefault,
  ) {
    assert(queueLockExpiryMs > 0, "queueLockExpiryMs must be positive");
    assert(orphanLeaseMs > 0 && orphanLeaseMs <= queueLockExpiryMs, "orphanLeaseMs must be in (0, queueLockExpiryMs]");
  }

  /** Locks what it can of `mqs` for `clientId`; returns the queues the client now holds. */
  lockBatch(group: string, clientId: string, mqs: readonly LockedQueue[]): LockedQueue[] {
    assert(group.length > 0, "lock group is empty");
    assert(clientId.length > 0, "lock clientId is empty");
    const held: LockedQueue[] = [];
    for (const mq of mqs) if (this.lockOne(group, clientId, mq) === LockStatus.locked) held.push(mq);
    return held;
  }

  lockOne(group: string, clientId: string, mq: LockedQueue): LockStatus {
    const nowMs = this.nowMs();
    let table = this.groups.get(group);
    if (!table) this.groups.set(group, (table = new Map()));
    const key = lockedQueueKey(mq);
    const entry = table.get(key);
    if (entry && entry.clientId !== clientId && !this.expired(entry, nowMs)) return LockStatus.heldByOther;
    if (entry) {
      entry.clientId = clientId;
      entry.lastUpdateMs = nowMs;
      entry.leaseMs = this.queueLockExpiryMs;
    } else {
      const copy = { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId };
      table.set(key, { mq: copy, clientId, lastUpdateMs: nowMs, leaseMs: this.queueLockExpiryMs });
    }
    assert(table.get(key)?.clientId === clientId);
    return LockStatus.locked;
  }

  /** Releases the queues of `mqs` that `clientId` holds; others' locks stay. */
  unlockBatch(group: string, clientId: string, mqs: readonly LockedQueue[]): number {
    const table = this.groups.get(group);
    if (!table) return 0;
    let released = 0;
    for (const mq of mqs) {
      const key = lockedQueueKey(mq);
      if (table.get(key)?.clientId !== clientId) continue;
      table.delete(key);
      released++;
    }
    if (table.size === 0) this.groups.delete(group);
    return released;
  }

  /** The holder's last connection closed or its heartbeat expired: shorten its leases to
   *  orphanLeaseMs from their last renewal. Returns how many locks it held. */
  holderGone(group: string, clientId: string): number {
    let count = 0;
    for (const entry of this.groups.get(group)?.values() ?? []) {
      if (entry.clientId !== clientId) continue;
      entry.leaseMs = Math.min(entry.leaseMs, this.orphanLeaseMs);
      count++;
    }
    return count;
  }

  /** The live holder of `mq` in `group`, or null. */
  holder(group: string, mq: LockedQueue): string | null {
    const entry = this.groups.get(group)?.get(lockedQueueKey(mq));
    if (!entry || this.expired(entry, this.nowMs())) return null;
    return entry.clientId;
  }

  /** Groups with at least one lock entry (live or lapsed). */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** Live locks of a group, each with its queue and how long ago it was last renewed. */
  liveLocks(group: string): Array<LockedQueue & { clientId: string; renewedAgoMs: number }> {
    const nowMs = this.nowMs();
    const out: Array<LockedQueue & { clientId: string; renewedAgoMs: number }> = [];
    for (const entry of this.groups.get(group)?.values() ?? []) {
      if (!this.expired(entry, nowMs)) out.push({ ...entry.mq, clientId: entry.clientId, renewedAgoMs: nowMs - entry.lastUpdateMs });
    }
    return out;
  }

  /** Live locks of a group: queue key → clientId (for admin and tests). */
  snapshot(group: string): Map<string, string> {
    const out = new Map<string, string>();
    const nowMs = this.nowMs();
    for (const [key, entry] of this.groups.get(group) ?? []) {
      if (!this.expired(entry, nowMs)) out.set(key, entry.clientId);
    }
    return out;
  }

  private expired(entry: LockEntry, nowMs: number): boolean {
    return nowMs - entry.lastUpdateMs > entry.leaseMs;
  }
}

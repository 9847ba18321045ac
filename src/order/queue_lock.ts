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
 * - A holder that vanishes without unlocking (connection lost, process paused or killed) keeps
 *   its queues until the lease runs out, as in RocketMQ: its client may still be consuming
 *   buffered messages for up to 30 s after its last renewal (the client-side lock lifetime), and
 *   the 60 s lease is what keeps a second consumer away meanwhile. (Its heartbeat expires after
 *   120 s, long after the lease.)
 * Requires: a monotonic clock (injected; tests use a fake one). Not thread-safe (Bun is single
 * threaded; every call finishes before the next begins).
 */
import { assert } from "../assert.ts";

/** rocketmq.broker.rebalance.lockMaxLiveTime: a lock not renewed for this long is free. */
export const queueLockExpiryMsDefault = 60_000;

export interface LockedQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

interface LockEntry {
  mq: LockedQueue;
  clientId: string;
  lastUpdateMs: number;
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
  ) {
    assert(queueLockExpiryMs > 0, "queueLockExpiryMs must be positive");
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
    } else {
      table.set(key, { mq: { topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId }, clientId, lastUpdateMs: nowMs });
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

  /** The live holder of `mq` in `group`, or null. */
  holder(group: string, mq: LockedQueue): string | null {
    const entry = this.groups.get(group)?.get(lockedQueueKey(mq));
    if (!entry || this.expired(entry, this.nowMs())) return null;
    return entry.clientId;
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
    return nowMs - entry.lastUpdateMs > this.queueLockExpiryMs;
  }
}

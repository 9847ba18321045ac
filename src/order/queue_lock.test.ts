import { describe, expect, test } from "bun:test";
import { Prng } from "../io/io.ts";
import { lockedQueueKey, LockStatus, QueueLockTable, queueLockExpiryMsDefault, queueLockOrphanLeaseMsDefault, type LockedQueue } from "./queue_lock.ts";

const mq = (queueId: number): LockedQueue => ({ topic: "T", brokerName: "broker-a", queueId });

function table(): { locks: QueueLockTable; clock: { now: number } } {
  const clock = { now: 1_000 };
  return { locks: new QueueLockTable(() => clock.now), clock };
}

describe("QueueLockTable", () => {
  test("a free queue goes to the first requester; the response lists what is held", () => {
    const { locks } = table();
    expect(locks.lockBatch("G", "a", [mq(0), mq(1)])).toEqual([mq(0), mq(1)]);
    expect(locks.lockBatch("G", "b", [mq(1), mq(2)])).toEqual([mq(2)]);
    expect(locks.holder("G", mq(1))).toBe("a");
    expect(locks.holder("G", mq(2))).toBe("b");
  });

  test("groups are independent", () => {
    const { locks } = table();
    expect(locks.lockOne("G1", "a", mq(0))).toBe(LockStatus.locked);
    expect(locks.lockOne("G2", "b", mq(0))).toBe(LockStatus.locked);
  });

  test("re-locking by the holder extends the lease; an unrenewed lock expires after 60 s", () => {
    const { locks, clock } = table();
    locks.lockOne("G", "a", mq(0));
    clock.now += queueLockExpiryMsDefault - 1;
    expect(locks.lockOne("G", "a", mq(0))).toBe(LockStatus.locked); // renewed at t + 59.999 s
    clock.now += queueLockExpiryMsDefault;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.heldByOther); // exactly 60 s: still live
    clock.now += 1;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.locked);
    expect(locks.holder("G", mq(0))).toBe("b");
  });

  test("unlock releases only the caller's queues", () => {
    const { locks } = table();
    locks.lockBatch("G", "a", [mq(0)]);
    locks.lockBatch("G", "b", [mq(1)]);
    expect(locks.unlockBatch("G", "b", [mq(0), mq(1)])).toBe(1);
    expect(locks.holder("G", mq(0))).toBe("a");
    expect(locks.holder("G", mq(1))).toBeNull();
    expect(locks.unlockBatch("unknown", "a", [mq(0)])).toBe(0);
  });

  test("a holder that vanishes without unlocking keeps its queues for the whole lease", () => {
    const { locks, clock } = table();
    locks.lockOne("G", "a", mq(0));
    clock.now += queueLockExpiryMsDefault;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.heldByOther);
    clock.now += 1;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.locked);
    expect(locks.snapshot("G")).toEqual(new Map([[lockedQueueKey(mq(0)), "b"]]));
  });

  test("a holder whose connection closed keeps its queues only for the orphan lease after its last renewal", () => {
    const { locks, clock } = table();
    locks.lockBatch("G", "a", [mq(0), mq(1)]);
    locks.lockOne("G", "c", mq(2));
    clock.now += 10_000;
    expect(locks.holderGone("G", "a")).toBe(2);
    clock.now += queueLockOrphanLeaseMsDefault - 10_000;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.heldByOther); // a may still consume what it buffered
    clock.now += 1;
    expect(locks.lockBatch("G", "b", [mq(0), mq(1), mq(2)])).toEqual([mq(0), mq(1)]); // c's lock is untouched
    expect(locks.holder("G", mq(2))).toBe("c");
  });

  test("a gone holder that renews gets the full lease back", () => {
    const { locks, clock } = table();
    locks.lockOne("G", "a", mq(0));
    locks.holderGone("G", "a");
    locks.lockOne("G", "a", mq(0));
    clock.now += queueLockExpiryMsDefault;
    expect(locks.lockOne("G", "b", mq(0))).toBe(LockStatus.heldByOther);
  });

  test("random lock, unlock and time steps: never two live holders, responses match the table", () => {
    const random = new Prng(20261125);
    const { locks, clock } = table();
    const clients = ["a", "b", "c"];
    const queues = [0, 1, 2, 3].map(mq);
    for (let step = 0; step < 20_000; step++) {
      const client = clients[random.below(clients.length)]!;
      const some = queues.filter(() => random.below(2) === 0);
      switch (random.below(3)) {
        case 0: {
          const before = new Map(queues.map((q) => [lockedQueueKey(q), locks.holder("G", q)]));
          const held = locks.lockBatch("G", client, some).map(lockedQueueKey);
          for (const q of some) {
            const key = lockedQueueKey(q);
            const previous = before.get(key);
            expect(held.includes(key)).toBe(previous === null || previous === client);
            expect(locks.holder("G", q)).toBe(held.includes(key) ? client : previous!);
          }
          break;
        }
        case 1:
          locks.unlockBatch("G", client, some);
          for (const q of some) expect(locks.holder("G", q)).not.toBe(client);
          break;
        default:
          clock.now += random.below(30_000);
      }
    }
  });
});

/**
 * ConsumeOrderlyService (src/client/consume_orderly.ts): ordered consumption for PushConsumer,
 * as RocketMQ's ConsumeMessageOrderlyService (protocol reference §8). PushConsumer keeps pulling
 * and committing offsets; this service decides when a queue's messages reach the handler.
 *
 * Guarantees:
 * - CLUSTERING: a queue is taken on only after LOCK_BATCH_MQ (41) locked it on its broker
 *   (lockQueue); every rebalanceLockIntervalMs all assigned queues are locked again (lockAll).
 *   A queue is consumed, pulled and its offset committed only while its last confirmed lock is
 *   younger than rebalanceLockMaxLiveMs (30 s, under the broker's 60 s lease): a consumer that
 *   cannot renew stops before another one may take the queue.
 * - A lock that lapsed (not confirmed by a renewal, or older than 30 s) is never revived: the
 *   queue is handed back (onLockLost, after the message in the handler returns), nothing is
 *   committed for it, and a later rebalance takes it on afresh — lock first, then the committed
 *   offset — so it never continues from a stale position another member has moved past.
 * - One queue's messages reach the handler one at a time, in queue-offset order (the per-queue
 *   consume lock): at most one message of a queue is in the handler at any instant. Queues are
 *   consumed in parallel with each other.
 * - A handler that throws suspends its queue for suspendCurrentQueueTimeMs and gets the same
 *   message again (reconsumeTimes + 1), ahead of every later message of that queue. Once
 *   reconsumeTimes reaches maxReconsumeTimes (clustering) the message is sent back with
 *   delayLevel -1, which puts it in %DLQ%<group>, and the queue moves on; if that fails the queue
 *   stays suspended and tries again.
 * - release(): a queue taken away by a rebalance stops after the message in the handler (if
 *   any) returns; then its offset is committed (the caller's callback, if the lock is still
 *   ours) and only then is it unlocked on the broker, so its next owner starts where this one
 *   stopped.
 * - BROADCASTING: no broker locks; ordering per queue as above.
 * Requires: PushConsumer calls lockQueue before taking a queue on, pulls only while isLocked(),
 * commits only while mayCommit(), submit()s each pulled message in offset order, release()s a
 * queue a rebalance takes away, drops one onLockLost() hands back, and calls stop() then unlock()
 * at shutdown.
 */
import type { Io } from "../io/io.ts";
import { assert } from "../assert.ts";
import { logScoped } from "../log.ts";
import { newRequest } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { decodeJsonBody, encodeJsonBody } from "../protocol/json_body.ts";
import { Property } from "../protocol/message_properties.ts";
import { requestTimeoutMs, type ClientInstance } from "./client_instance.ts";
import { messageQueueKey, type MessageQueue, type ReceivedMessage } from "./message.ts";

const log = logScoped("client");

/** REBALANCE_LOCK_INTERVAL: how often every assigned queue is locked again. */
export const rebalanceLockIntervalMs = 20_000;
/** REBALANCE_LOCK_MAX_LIVE_TIME: a lock not confirmed for this long no longer allows consuming. */
export const rebalanceLockMaxLiveMs = 30_000;
/** suspendCurrentQueueTimeMillis: the pause after a failed message before it is tried again. */
export const suspendCurrentQueueTimeMs = 1000;
/** A queue not locked now is pulled again after this (Java: 3 s). */
export const pullDelayWhenUnlockedMs = 3000;

export type OrderlyHandler = (message: ReceivedMessage) => Promise<void> | void;

export interface OrderlyHost {
  readonly consumerGroup: string;
  readonly clientId: string;
  readonly clustering: boolean;
  readonly maxReconsumeTimes: number;
  readonly io: Io;
}

/** One queue's consumption state (the ProcessQueue's ordered half). */
class OrderlyQueue {
  locked = false;
  lastLockMs = 0;
  dropped = false;
  running = false;
  /** Pulled and not yet consumed, in offset order. */
  readonly buffer: ReceivedMessage[] = [];
  /** The owner's pending offsets: an offset leaves it when its message is consumed. */
  pending: Set<number> | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(readonly mq: MessageQueue) {}

  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  becameIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

export class ConsumeOrderlyService {
  private readonly queues = new Map<string, OrderlyQueue>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  /** Handler calls running now (at most one per queue). */
  inFlight = 0;

  constructor(
    private readonly host: OrderlyHost,
    private readonly handler: OrderlyHandler,
    /** The queue's lock lapsed: the owner drops it (no commit) and rebalances to take it on afresh. */
    private readonly onLockLost: (mq: MessageQueue) => void,
  ) {}

  start(instance: ClientInstance, assigned: () => MessageQueue[]): void {
    assert(this.timer === null, "orderly service started twice");
    if (!this.host.clustering) return;
    this.timer = setInterval(() => void this.lockAll(instance, assigned()), rebalanceLockIntervalMs);
  }

  /** Whether `mq` may be pulled and consumed now: held, not given up, lock confirmed recently. */
  isLocked(mq: MessageQueue): boolean {
    const queue = this.queues.get(messageQueueKey(mq));
    return queue !== undefined && !queue.dropped && this.leaseLive(queue);
  }

  /** Whether the owner may commit `mq`'s offset: only while this client still holds its lock. */
  mayCommit(mq: MessageQueue): boolean {
    const queue = this.queues.get(messageQueueKey(mq));
    return queue !== undefined && this.leaseLive(queue);
  }

  private leaseLive(queue: OrderlyQueue): boolean {
    if (!this.host.clustering) return true;
    return queue.locked && this.host.io.clock.monotonicMs() - queue.lastLockMs <= rebalanceLockMaxLiveMs;
  }

  /** The lock of `queue` lapsed: stop it and hand it back once its handler call returned. */
  private lost(queue: OrderlyQueue): void {
    if (queue.dropped) return;
    queue.dropped = true;
    queue.locked = false;
    log.info("orderly.lock_lost", { mq: queue.mq });
    void queue.whenIdle().then(() => {
      const key = messageQueueKey(queue.mq);
      if (this.queues.get(key) === queue) this.queues.delete(key);
      if (!this.stopped) this.onLockLost(queue.mq);
    });
  }

  /** Locks one queue on its broker before it is taken on; false: someone else holds it. */
  async lockQueue(instance: ClientInstance, mq: MessageQueue): Promise<boolean> {
    const key = messageQueueKey(mq);
    const previous = this.queues.get(key);
    if (previous) {
      previous.dropped = true; // a handler call of its may still run: one message of a queue at a time
      await previous.whenIdle();
    }
    if (!this.host.clustering) {
      const queue = new OrderlyQueue(mq);
      queue.locked = true;
      this.queues.set(key, queue);
      return true;
    }
    let held: Set<string>;
    const sentMs = this.host.io.clock.monotonicMs();
    try {
      held = await this.lockBatch(instance, mq.brokerName, [mq]);
    } catch (error) {
      log.warnEvery(10_000, "orderly.lock_failed", { mq, error: String(error) });
      return false;
    }
    if (!held.has(key)) return false;
    const queue = new OrderlyQueue(mq);
    queue.locked = true;
    queue.lastLockMs = sentMs; // no later than the broker's stamp: the client's lock never outlives the broker's
    this.queues.set(key, queue);
    return true;
  }

  /** Locks every assigned queue again, per broker; a queue not confirmed, or already lapsed, is handed back (lost). */
  async lockAll(instance: ClientInstance, mqs: readonly MessageQueue[]): Promise<void> {
    const byBroker = new Map<string, MessageQueue[]>();
    for (const mq of mqs) {
      let list = byBroker.get(mq.brokerName);
      if (!list) byBroker.set(mq.brokerName, (list = []));
      list.push(mq);
    }
    await Promise.all(
      [...byBroker].map(async ([brokerName, list]) => {
        let held: Set<string>;
        const sentMs = this.host.io.clock.monotonicMs();
        try {
          held = await this.lockBatch(instance, brokerName, list);
        } catch (error) {
          log.warnEvery(10_000, "orderly.lock_all_failed", { brokerName, error: String(error) });
          return; // locks age out client-side after rebalanceLockMaxLiveMs
        }
        for (const mq of list) {
          const queue = this.queues.get(messageQueueKey(mq));
          if (!queue || queue.dropped) continue;
          // Renewed only if it had not lapsed before the request went out.
          if (held.has(messageQueueKey(mq)) && queue.lastLockMs >= sentMs - rebalanceLockMaxLiveMs && queue.locked) queue.lastLockMs = sentMs;
          else this.lost(queue);
        }
      }),
    );
  }

  private async lockBatch(instance: ClientInstance, brokerName: string, mqs: readonly MessageQueue[]): Promise<Set<string>> {
    const body = encodeJsonBody({ consumerGroup: this.host.consumerGroup, clientId: this.host.clientId, mqSet: mqs });
    const response = await instance.invoke(instance.masterAddr(brokerName), newRequest(RequestCode.LOCK_BATCH_MQ, {}, body), requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) throw new Error(`LOCK_BATCH_MQ refused: ${response.code} ${response.remark ?? ""}`);
    const value = decodeJsonBody(response.body) as { lockOKMQSet?: unknown } | null;
    const held = new Set<string>();
    if (!Array.isArray(value?.lockOKMQSet)) return held;
    for (const item of value.lockOKMQSet as Array<Partial<MessageQueue>>) {
      if (typeof item.topic === "string" && typeof item.brokerName === "string" && typeof item.queueId === "number") {
        held.add(messageQueueKey({ topic: item.topic, brokerName: item.brokerName, queueId: item.queueId }));
      }
    }
    return held;
  }

  /** UNLOCK_BATCH_MQ (42) for `mqs`, per broker; best effort. */
  async unlock(instance: ClientInstance, mqs: readonly MessageQueue[]): Promise<void> {
    if (!this.host.clustering || mqs.length === 0) return;
    const byBroker = new Map<string, MessageQueue[]>();
    for (const mq of mqs) byBroker.set(mq.brokerName, [...(byBroker.get(mq.brokerName) ?? []), mq]);
    await Promise.all(
      [...byBroker].map(async ([brokerName, list]) => {
        const body = encodeJsonBody({ consumerGroup: this.host.consumerGroup, clientId: this.host.clientId, mqSet: list });
        try {
          await instance.invoke(instance.masterAddr(brokerName), newRequest(RequestCode.UNLOCK_BATCH_MQ, {}, body), requestTimeoutMs);
        } catch (error) {
          log.warnEvery(10_000, "orderly.unlock_failed", { brokerName, error: String(error) });
        }
      }),
    );
  }

  // ------------------------------------------------------------------------------ consuming

  /** A pulled message of `mq`, in offset order; `pending` is the owner's set of unconsumed offsets. */
  submit(instance: ClientInstance, mq: MessageQueue, message: ReceivedMessage, pending: Set<number>): void {
    const queue = this.queues.get(messageQueueKey(mq));
    if (!queue || queue.dropped) return; // never locked, or taken away: its next owner reads it
    queue.pending = pending;
    const last = queue.buffer[queue.buffer.length - 1];
    if (last !== undefined && last.queueOffset >= message.queueOffset) {
      pending.delete(message.queueOffset); // a re-pull behind what is buffered: already queued
      return;
    }
    queue.buffer.push(message);
    if (!queue.running) void this.run(instance, queue);
  }

  private async run(instance: ClientInstance, queue: OrderlyQueue): Promise<void> {
    assert(!queue.running, "two consume loops for one queue");
    queue.running = true;
    try {
      while (!queue.dropped && !this.stopped && queue.buffer.length > 0) {
        if (!this.leaseLive(queue)) {
          this.lost(queue);
          break;
        }
        const message = queue.buffer[0]!;
        let failure: unknown = null;
        this.inFlight++;
        try {
          await this.handler(message);
        } catch (error) {
          failure = error ?? new Error("handler threw a nullish value");
        } finally {
          this.inFlight--;
        }
        if (failure === null) {
          this.consumed(queue);
          continue;
        }
        log.warnEvery(10_000, "orderly.consume_failed", { group: this.host.consumerGroup, msgId: message.msgId, error: String(failure) });
        if (this.host.clustering && message.reconsumeTimes >= this.host.maxReconsumeTimes && (await this.toDeadLetter(instance, message))) {
          this.consumed(queue);
          continue;
        }
        message.reconsumeTimes++;
        await sleep(suspendCurrentQueueTimeMs);
      }
    } finally {
      queue.running = false;
      queue.becameIdle();
    }
  }

  private consumed(queue: OrderlyQueue): void {
    const message = queue.buffer.shift();
    assert(message !== undefined, "consumed from an empty queue");
    queue.pending?.delete(message.queueOffset);
  }

  private async toDeadLetter(instance: ClientInstance, message: ReceivedMessage): Promise<boolean> {
    const originMsgId = message.propertyMap[Property.ORIGIN_MESSAGE_ID] ?? message.msgId;
    try {
      await instance.sendMessageBack(message.brokerName, message.commitLogOffset, this.host.consumerGroup, -1, originMsgId, message.topic, this.host.maxReconsumeTimes);
      return true;
    } catch (error) {
      log.warnEvery(10_000, "orderly.dead_letter_failed", { msgId: message.msgId, error: String(error) });
      return false;
    }
  }

  // ------------------------------------------------------------------------------ giving queues up

  /**
   * A rebalance took `mq` away: stop after the message in the handler, run `committed` (the
   * owner commits its offset), then unlock it on the broker, unless it was taken on again meanwhile.
   */
  async release(instance: ClientInstance, mq: MessageQueue, committed: () => void): Promise<void> {
    const key = messageQueueKey(mq);
    const queue = this.queues.get(key);
    if (!queue) return; // not held (lapsed, or never locked): nothing of ours to commit or unlock
    queue.dropped = true;
    await queue.whenIdle();
    committed(); // the owner's commit asks mayCommit(): only if the lock is still ours
    if (this.queues.get(key) !== queue) return; // taken on again by a later rebalance: the lock is ours again
    this.queues.delete(key);
    await this.unlock(instance, [mq]);
  }

  /** Shutdown, first half: no more consuming; waits (until deadlineMs) for handlers running. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const queue of this.queues.values()) queue.dropped = true;
    while (this.inFlight > 0 && this.host.io.clock.monotonicMs() < deadlineMs) await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

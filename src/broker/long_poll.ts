/**
 * PullHoldService (src/broker/long_poll.ts): pulls that found nothing wait here, keyed by
 * topic@queueId, until a message that passes their filter arrives (woken at once by the store's
 * arrival listener), or their deadline (the client's suspendTimeoutMillis, capped below the
 * clients' 30 s socket timeout) passes. Either way `resume` runs the pull again, which answers.
 *
 * At most `heldMax` pulls wait at once (each holds its request and a closure, ~1–2 KiB): hold()
 * returns false past it and the caller answers SYSTEM_BUSY, which clients take as "retry later"
 * (the Java client waits 3 s) rather than PULL_NOT_FOUND, which they re-send at once.
 */
import type { Io } from "../io/io.ts";

export interface HeldPull {
  offset: number;
  deadlineMs: number;
  accept(tagsCode: number): boolean;
  resume(): void;
}

export class PullHoldService {
  private readonly held = new Map<string, HeldPull[]>();
  private timer: ReturnType<typeof setInterval> | null = null;
  heldCount = 0;

  constructor(
    private readonly io: Io,
    private readonly maxOffsetOf: (topic: string, queueId: number) => number,
    private readonly checkIntervalMs: number,
    private readonly heldMax: number = Infinity,
  ) {}

  /** How many pulls may wait at once. */
  get capacity(): number {
    return this.heldMax;
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
  }

  /** Holds `pull`; false (nothing held) when heldMax pulls wait already. */
  hold(topic: string, queueId: number, pull: HeldPull): boolean {
    if (this.heldCount >= this.heldMax) return false;
    const key = `${topic}@${queueId}`;
    let list = this.held.get(key);
    if (!list) this.held.set(key, (list = []));
    list.push(pull);
    this.heldCount++;
    return true;
  }

  /** A message arrived: wake the pulls it satisfies. */
  notify(topic: string, queueId: number, maxOffset: number, tagsCode: number): void {
    if (this.heldCount === 0) return; // no key built per stored message while nobody waits
    const key = `${topic}@${queueId}`;
    const list = this.held.get(key);
    if (!list) return;
    const woken: HeldPull[] = [];
    let kept = 0;
    for (const pull of list) {
      if (maxOffset > pull.offset && pull.accept(tagsCode)) woken.push(pull);
      else list[kept++] = pull;
    }
    list.length = kept;
    if (kept === 0) this.held.delete(key);
    this.heldCount -= woken.length;
    for (const pull of woken) pull.resume();
  }

  /** Wakes pulls whose deadline passed or whose queue grew meanwhile (filtered arrivals, say). */
  private check(): void {
    const now = this.io.clock.monotonicMs();
    for (const [key, list] of this.held) {
      const at = key.lastIndexOf("@");
      const maxOffset = this.maxOffsetOf(key.slice(0, at), Number(key.slice(at + 1)));
      const woken: HeldPull[] = [];
      let kept = 0;
      for (const pull of list) {
        if (now >= pull.deadlineMs || maxOffset > pull.offset) woken.push(pull);
        else list[kept++] = pull;
      }
      list.length = kept;
      if (kept === 0) this.held.delete(key);
      this.heldCount -= woken.length;
      for (const pull of woken) pull.resume();
    }
  }

  /** Answers every held pull now (shutdown). */
  releaseAll(): void {
    const all = [...this.held.values()].flat();
    this.held.clear();
    this.heldCount = 0;
    for (const pull of all) pull.resume();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

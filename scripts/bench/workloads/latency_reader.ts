// The reading half of the latency workload (worker.ts, mode "latency"), on a thread of its own:
// it connects its own client, reads the topic live, and stamps each measured message's arrival
// into memory shared with the sending thread. On one thread, sending and reading delayed each
// other (a burst of sends postponed reading an answer, a long read postponed the next sends), so
// the instrument's own pauses showed up as broker latency.
//
// Shared memory (LatencyReaderShared), written here, read by the sender:
//   arrivedMs[i]  monotonicMs() (lib/clock.ts: the same clock on every thread) when message i
//                 arrived; NaN until then.
//   counters      [warmed, received, done]: warm-up messages seen; measured messages seen; 1 once the read ended.
import { openClient, type ClientKind } from "../clients/types.ts";
import { readU32 } from "../../../src/net/frame.ts";
import { monotonicMs } from "../lib/clock.ts";

export interface LatencyReaderSpec {
  client: ClientKind;
  endpoint: string;
  topic: string;
  queues: number;
  total: number;
  seconds: number;
  arrivedMs: Float64Array;
  counters: Int32Array;
}

export const counter = { warmed: 0, received: 1, done: 2 } as const;
/** First 4 bytes of each body: the message's index (big-endian); next 4: one of these. */
export const bodyMarker = { measured: 0x42454e43 /* "BENC" */, warm: 0x5741524d /* "WARM" */ } as const;

declare const self: Worker;

self.onmessage = async (event: MessageEvent<LatencyReaderSpec>) => {
  const spec = event.data;
  const { arrivedMs, counters } = spec;
  try {
    const reader = await openClient(spec.client, spec.endpoint);
    await reader.read(spec.topic, spec.queues, spec.total + spec.queues, performance.now() + (spec.seconds + 40) * 1000, true, (bytes, at, length) => {
      if (length < 8) return;
      const marker = readU32(bytes, at + 4);
      if (marker === bodyMarker.warm) Atomics.add(counters, counter.warmed, 1);
      if (marker !== bodyMarker.measured) return;
      const index = readU32(bytes, at);
      if (index < spec.total && Number.isNaN(arrivedMs[index]!)) {
        arrivedMs[index] = monotonicMs();
        Atomics.add(counters, counter.received, 1);
      }
    });
    await reader.close();
    self.postMessage({ ok: true });
  } catch (error) {
    self.postMessage({ ok: false, error: String(error instanceof Error ? error.message : error).slice(0, 300) });
  } finally {
    Atomics.store(counters, counter.done, 1);
  }
};

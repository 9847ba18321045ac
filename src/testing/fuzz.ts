/**
 * Seeded fuzzing for decoders (src/testing/fuzz.ts). Each iteration gets its own PRNG, seeded
 * from the run's seed and the iteration number, so one failing input replays alone:
 *
 *   FUZZ_SEED=<seed> FUZZ_ITERATION=<i> bun test src/net/header_json_fuzz.test.ts
 *
 * FUZZ_SEED fixes the run's seed (default: random, printed on failure); FUZZ_SCALE multiplies
 * every fuzzer's iteration count (longer runs outside npm test). A fuzzer's body throws only for
 * a bug: the decoder's own domain errors are caught inside it (see `expectOnly`).
 */
import { Prng } from "../io/io.ts";

const runSeed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 0x1_0000_0000) >>> 0;
const onlyIteration = process.env.FUZZ_ITERATION !== undefined ? Number(process.env.FUZZ_ITERATION) : null;
const scale = process.env.FUZZ_SCALE !== undefined ? Number(process.env.FUZZ_SCALE) : 1;

/** Inputs run per fuzzer name in this process. */
export const fuzzCounts = new Map<string, number>();

function iterationSeed(seed: number, iteration: number): number {
  let x = (seed ^ Math.imul(iteration + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0 || 1;
}

/** Runs `body` `iterations` times (× FUZZ_SCALE); returns how many ran. Throws naming the seed and iteration on failure. */
export function fuzz(name: string, iterations: number, body: (random: FuzzRandom, iteration: number) => void): number {
  const total = Math.max(1, Math.round(iterations * scale));
  const from = onlyIteration ?? 0;
  const to = onlyIteration === null ? total : onlyIteration + 1;
  for (let i = from; i < to; i++) {
    const random = new FuzzRandom(iterationSeed(runSeed, i));
    try {
      body(random, i);
    } catch (error) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new Error(`fuzz ${name}: iteration ${i} failed (replay: FUZZ_SEED=${runSeed} FUZZ_ITERATION=${i})\n${detail}`);
    }
  }
  fuzzCounts.set(name, (fuzzCounts.get(name) ?? 0) + (to - from));
  return to - from;
}

/** fuzz() for bodies that await (whole-store recoveries, say). */
export async function fuzzAsync(name: string, iterations: number, body: (random: FuzzRandom, iteration: number) => Promise<void>): Promise<number> {
  const total = Math.max(1, Math.round(iterations * scale));
  const from = onlyIteration ?? 0;
  const to = onlyIteration === null ? total : onlyIteration + 1;
  for (let i = from; i < to; i++) {
    try {
      await body(new FuzzRandom(iterationSeed(runSeed, i)), i);
    } catch (error) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      throw new Error(`fuzz ${name}: iteration ${i} failed (replay: FUZZ_SEED=${runSeed} FUZZ_ITERATION=${i})\n${detail}`);
    }
  }
  fuzzCounts.set(name, (fuzzCounts.get(name) ?? 0) + (to - from));
  return to - from;
}

/** Calls `decode`; an error that is one of `allowed` (the decoder's domain errors) is fine, any other is rethrown. */
export function expectOnly(allowed: ReadonlyArray<abstract new (...args: never[]) => Error>, decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (allowed.some((kind) => error instanceof kind)) return;
    throw error;
  }
}

export class FuzzRandom extends Prng {
  /** true with probability 1/n. */
  oneIn(n: number): boolean {
    return this.below(n) === 0;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** A copy of `input` with a few random edits: bit flips, byte sets, interesting values, cuts, inserts, duplicated slices. */
  mutate(input: Uint8Array, edits = 1 + this.below(4)): Uint8Array {
    let out = input.slice();
    for (let e = 0; e < edits; e++) {
      const at = out.length === 0 ? 0 : this.below(out.length);
      switch (this.below(7)) {
        case 0:
          if (out.length > 0) out[at]! ^= 1 << this.below(8);
          break;
        case 1:
          if (out.length > 0) out[at] = this.u32() & 0xff;
          break;
        case 2:
          if (out.length > 0) out[at] = this.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x7b, 0x5b, 0x01, 0x02]);
          break;
        case 3: {
          // a 16/32-bit big-endian "interesting" integer: lengths and sizes live in these
          const value = this.pick([0, 1, -1, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 0x10000, 255, 256]);
          const width = this.oneIn(2) ? 2 : 4;
          for (let b = 0; b < width && at + b < out.length; b++) out[at + b] = (value >>> (8 * (width - 1 - b))) & 0xff;
          break;
        }
        case 4:
          out = out.slice(0, this.below(out.length + 1));
          break;
        case 5: {
          const extra = this.bytes(1 + this.below(8));
          const joined = new Uint8Array(out.length + extra.length);
          joined.set(out.subarray(0, at));
          joined.set(extra, at);
          joined.set(out.subarray(at), at + extra.length);
          out = joined;
          break;
        }
        default: {
          if (out.length === 0) break;
          const from = this.below(out.length);
          const slice = out.slice(from, from + 1 + this.below(16));
          const joined = new Uint8Array(out.length + slice.length);
          joined.set(out.subarray(0, at));
          joined.set(slice, at);
          joined.set(out.subarray(at), at + slice.length);
          out = joined;
        }
      }
    }
    return out;
  }
}

/** A cheap assertion for fuzz loops (bun's expect() costs microseconds per call). */
export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`fuzz check failed: ${what}`);
}

/** Structural equality of plain JSON-like values, for fuzz loops. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

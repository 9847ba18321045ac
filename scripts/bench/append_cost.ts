// What appending a record to a commit-log segment costs the event loop, by how the bytes get
// there: copied into the shared mapping (a write fault per new page), or copied into a stage and
// written with one pwrite per `batch` records (CommitLog's staged appends). Each run appends to a
// fresh reserved segment through the store's own FileMapper, advised as the active segment is;
// the time is the appending loop's only (write-back comes later, for both).
//
//   bun scripts/bench/append_cost.ts [--mib 1024] [--record 1200] [--batches 1,4,32,200] [--rounds 2] [--dir /tmp]
//
// Prints one line per run (rounds interleave the ways), then the median per way.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { diskMapper } from "../../src/store/file_mapper.ts";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "1024" },
    record: { type: "string", default: "1200" },
    batches: { type: "string", default: "1,4,32,200" },
    rounds: { type: "string", default: "2" },
    dir: { type: "string", default: "/tmp" },
  },
});
const fileBytes = Number(values.mib) * 1024 * 1024;
const recordBytes = Number(values.record);
const batches = values.batches.split(",").map(Number);
const rounds = Number(values.rounds);
const workDir = mkdtempSync(join(values.dir, "bolide-append-cost-"));
const record = new Uint8Array(recordBytes).fill(0x61);
const records = Math.floor(fileBytes / recordBytes) - 1;

/** µs per record appended; `batch` 0: through the mapping. */
function appendAll(batch: number, run: number): number {
  const region = diskMapper.map(join(workDir, `segment-${run}`), fileBytes, true);
  region.advise("append", 0);
  let startedMs: number;
  if (batch === 0) {
    const bytes = region.bytes;
    startedMs = performance.now();
    for (let i = 0, at = 0; i < records; i++, at += recordBytes) bytes.set(record, at);
  } else {
    const stage = new Uint8Array(batch * recordBytes);
    startedMs = performance.now();
    let staged = 0;
    let position = 0;
    for (let i = 0; i < records; i++) {
      stage.set(record, staged);
      staged += recordBytes;
      if (staged === stage.length || i === records - 1) {
        region.write(stage.subarray(0, staged), position);
        position += staged;
        staged = 0;
      }
    }
  }
  const us = ((performance.now() - startedMs) * 1000) / records;
  region.discard();
  region.close();
  rmSync(join(workDir, `segment-${run}`));
  return us;
}

const ways = [0, ...batches];
const results = new Map<number, number[]>(ways.map((way) => [way, []]));
let run = 0;
try {
  for (let round = 0; round < rounds; round++) {
    for (const way of ways) {
      const us = appendAll(way, run++);
      results.get(way)!.push(us);
      console.log(`round ${round + 1} ${way === 0 ? "mapping" : `pwrite per ${way}`}: ${us.toFixed(3)} µs/record`);
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${recordBytes} B records, ${values.mib} MiB per run, median of ${rounds}: ` +
    ways.map((way) => `${way === 0 ? "mapping" : `pwrite/${way}`} ${median(results.get(way)!).toFixed(3)} µs`).join(", "),
);

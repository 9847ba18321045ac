/**
 * IndexService (src/store/index_service.ts): the index files under `<dataDir>/index/`, oldest
 * first; the last one takes new keys until full, then a new one is created.
 *
 * Guarantees: build() indexes each record at most once per run and skips records below
 * `indexedBelow` (what the files already hold), so re-dispatch during recovery is idempotent.
 * query() returns candidate commit-log offsets, newest first, without duplicates: hash
 * collisions and entries left by a crash are possible, so the caller checks each record.
 * Requires: one writer (the dispatcher).
 */
import { diskMapper, type FileMapper } from "./file_mapper.ts";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";
import { logScoped } from "../log.ts";
import { IndexFile, indexKeyHash } from "./index_file.ts";

const log = logScoped("store");

function timeName(ms: number): string {
  const date = new Date(ms);
  const two = (value: number): string => String(value).padStart(2, "0");
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}${two(date.getHours())}` +
    `${two(date.getMinutes())}${two(date.getSeconds())}${String(date.getMilliseconds()).padStart(3, "0")}`;
}

export class IndexService {
  private readonly files: IndexFile[] = [];
  /** Records that start below this commit-log offset are already indexed. */
  indexedBelow = 0;
  /** Store time and offset of the last record indexed (QUERY_MESSAGE's indexLastUpdate* headers). */
  lastUpdateTimestamp = 0;
  lastUpdatePhyOffset = 0;

  constructor(
    private readonly dir: string,
    private readonly hashSlots: number,
    private readonly entriesMax: number,
    private readonly nowMs: () => number,
    private readonly mapper: FileMapper = diskMapper,
  ) {}

  /** Opens the existing files. `commitLogEnd`: entries at or past it describe records that are gone. */
  load(commitLogEnd: number): void {
    mkdirSync(this.dir, { recursive: true });
    for (const name of readdirSync(this.dir).filter((name) => /^\d{17}$/.test(name)).sort()) {
      this.files.push(new IndexFile(join(this.dir, name), this.hashSlots, this.entriesMax, this.mapper));
    }
    const last = this.files.findLast((file) => !file.isEmpty);
    if (last) {
      this.indexedBelow = Math.min(last.endPhyOffset + 1, commitLogEnd);
      this.lastUpdateTimestamp = last.endTimestamp;
      this.lastUpdatePhyOffset = last.endPhyOffset;
    }
  }

  /** Indexes `topic#key` for each key of the record at `phyOffset` (UNIQ_KEY and each KEYS token). */
  build(topic: string, keys: readonly string[], phyOffset: number, storeTimestamp: number): void {
    if (phyOffset < this.indexedBelow) return;
    for (const key of keys) {
      if (key.length === 0) continue;
      const hash = indexKeyHash(topic, key);
      let file = this.files.at(-1);
      if (!file || file.isFull) file = this.roll();
      if (!file.put(hash, phyOffset, storeTimestamp)) {
        file = this.roll();
        const added = file.put(hash, phyOffset, storeTimestamp);
        assert(added, "a new index file refused a key");
      }
    }
    this.indexedBelow = phyOffset + 1;
    this.lastUpdateTimestamp = storeTimestamp;
    this.lastUpdatePhyOffset = phyOffset;
  }

  private roll(): IndexFile {
    let ms = this.nowMs();
    const existing = new Set(this.files.map((file) => file.path));
    while (existing.has(join(this.dir, timeName(ms)))) ms++;
    const file = new IndexFile(join(this.dir, timeName(ms)), this.hashSlots, this.entriesMax, this.mapper);
    const previous = this.files.at(-1);
    if (previous) void previous.flush().catch((error: unknown) => log.error("index.flush_failed", { error: String(error) }));
    this.files.push(file);
    log.info("index.roll", { file: file.path });
    return file;
  }

  /** Candidate offsets of records with `topic#key` stored within [beginMs, endMs], newest first. */
  query(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): number[] {
    const hash = indexKeyHash(topic, key);
    const found: number[] = [];
    for (let i = this.files.length - 1; i >= 0 && found.length < maxNum; i--) {
      const file = this.files[i]!;
      if (file.overlaps(beginMs, endMs)) file.select(hash, beginMs, endMs, maxNum, found);
    }
    return [...new Set(found)];
  }

  /** Deletes whole files whose last entry points below `minPhyOffset` (retention). Keeps the active one. */
  deleteBelow(minPhyOffset: number): number {
    let deleted = 0;
    while (this.files.length > 1 && this.files[0]!.endPhyOffset < minPhyOffset) {
      this.files.shift()!.destroy();
      deleted++;
    }
    return deleted;
  }

  async flush(): Promise<void> {
    await Promise.all(this.files.map((file) => file.flush()));
  }

  close(): void {
    for (const file of this.files) file.close();
  }
}

/**
 * PowerCutMapper (src/testing/power_cut_mapper.ts): a FileMapper whose files lose power on demand.
 *
 * Fault model (what a power cut may do to a file, as on a real disk with a volatile page cache):
 * - every file is a real file on disk (the durable image) plus `bytes`, a private copy the store
 *   writes into (the page cache);
 * - sync() does not finish by itself: the simulation completes pending syncs one at a time
 *   (completeOneSync), in any order across files, when it chooses. On completion, every 4 KiB page
 *   that differs from the durable image (including bytes written after the sync started, which a
 *   real fdatasync may also carry) becomes durable;
 * - powerCut(): each page that is not durable is, at random (seeded): lost (the durable image
 *   stays), kept, or torn — each 512-byte sector of it new or old independently. Then the files
 *   hold what would be found after reboot; pending syncs never complete.
 * Not modelled: checkpoint and abort-marker writes (small, fsync'd at once through node:fs; the
 * checkpoint is one sector, which disks write atomically), metadata loss of newly created files
 * (a segment is created and reserved long before a sync can cover its records), and bit rot.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import type { Prng } from "../io/io.ts";
import type { FileMapper, MappedRegion } from "../store/file_mapper.ts";

const pageBytes = 4096;
const sectorBytes = 512;

class SimRegion implements MappedRegion {
  readonly bytes: Uint8Array;
  readonly durable: Uint8Array;
  closed = false;

  constructor(
    readonly path: string,
    readonly fd: number,
    fileBytes: number,
    private readonly owner: PowerCutMapper,
  ) {
    this.durable = new Uint8Array(fileBytes);
    let at = 0;
    while (at < fileBytes) {
      const read = readSync(fd, this.durable, at, fileBytes - at, at);
      if (read <= 0) break;
      at += read;
    }
    this.bytes = this.durable.slice();
  }

  /** Into the page cache, as a write through the mapping. */
  write(source: Uint8Array, position: number): void {
    this.bytes.set(source, position);
  }

  /** A hint to the page cache: nothing to model. */
  advise(): void {}
  release(): void {}

  sync(): Promise<void> {
    return new Promise((resolve) => this.owner.pending.push({ region: this, resolve }));
  }

  /** A hole punched over the file (it is being deleted): reads as zeros, in the cache and on disk. */
  discard(): void {
    this.bytes.fill(0);
    this.durable.fill(0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.closeFile(this);
  }

  /** Makes page `page` durable with `content` (a page-sized view). */
  persistPage(page: number, content: Uint8Array): void {
    const at = page * pageBytes;
    this.durable.set(content, at);
    writeSync(this.fd, content, 0, content.length, at);
  }

  /** Pages whose page-cache bytes differ from the durable image. */
  *dirtyPages(): Generator<number> {
    const pages = Math.ceil(this.bytes.length / pageBytes);
    for (let page = 0; page < pages; page++) {
      const from = page * pageBytes;
      const to = Math.min(from + pageBytes, this.bytes.length);
      for (let i = from; i < to; i++) {
        if (this.bytes[i] !== this.durable[i]) {
          yield page;
          break;
        }
      }
    }
  }

  pageView(source: Uint8Array, page: number): Uint8Array {
    const from = page * pageBytes;
    return source.subarray(from, Math.min(from + pageBytes, source.length));
  }
}

export class PowerCutMapper implements FileMapper {
  readonly pending: Array<{ region: SimRegion; resolve(): void }> = [];
  private readonly open = new Set<SimRegion>();
  /** Pages lost, kept and torn by the last powerCut(), for the report. */
  readonly cut = { lost: 0, kept: 0, torn: 0 };

  constructor(private readonly random: Prng) {}

  map(path: string, fileBytes: number): MappedRegion {
    const fd = openSync(path, existsSync(path) ? "r+" : "w+");
    ftruncateSync(fd, fileBytes);
    const region = new SimRegion(path, fd, fileBytes, this);
    this.open.add(region);
    return region;
  }

  closeFile(region: SimRegion): void {
    this.open.delete(region);
    closeSync(region.fd);
  }

  /** Completes one pending sync chosen at random; false if none is pending. */
  completeOneSync(): boolean {
    if (this.pending.length === 0) return false;
    const [sync] = this.pending.splice(this.random.below(this.pending.length), 1);
    const region = sync!.region;
    if (!region.closed) for (const page of [...region.dirtyPages()]) region.persistPage(page, region.pageView(region.bytes, page));
    sync!.resolve();
    return true;
  }

  /** Power fails: unsynced pages of every open file are lost, kept or torn (see the fault model). */
  powerCut(): void {
    this.pending.length = 0;
    for (const region of this.open) {
      for (const page of [...region.dirtyPages()]) {
        const fresh = region.pageView(region.bytes, page);
        const choice = this.random.below(3);
        if (choice === 0) {
          this.cut.lost++;
          continue;
        }
        if (choice === 1) {
          this.cut.kept++;
          region.persistPage(page, fresh.slice());
          continue;
        }
        this.cut.torn++;
        const mixed = region.pageView(region.durable, page).slice();
        for (let at = 0; at < mixed.length; at += sectorBytes) {
          if (this.random.below(2) === 0) mixed.set(fresh.subarray(at, Math.min(at + sectorBytes, mixed.length)), at);
        }
        region.persistPage(page, mixed);
      }
    }
  }
}

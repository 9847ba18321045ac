import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diskMapper } from "./file_mapper.ts";

test("discard gives a reserved file's blocks back while it is still mapped; the mapping reads zeros", () => {
  const dir = mkdtempSync(join(tmpdir(), "bolide-mapper-"));
  try {
    const path = join(dir, "segment");
    const fileBytes = 8 * 1024 * 1024;
    const region = diskMapper.map(path, fileBytes, true);
    region.bytes.fill(0x61, 0, 4096);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(fileBytes); // reserved up front
    region.discard();
    expect(statSync(path).blocks * 512).toBeLessThan(fileBytes / 8);
    expect(statSync(path).size).toBe(fileBytes);
    expect(region.bytes[0]).toBe(0);
    expect(region.bytes[fileBytes - 1]).toBe(0);
    region.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

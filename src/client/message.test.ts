import { expect, test } from "bun:test";
import { createUniqId } from "./message.ts";

test("UNIQ_KEY: 32 uppercase hex chars, distinct, client IP first", () => {
  const now = Date.now();
  const first = createUniqId(now);
  const second = createUniqId(now);
  expect(first).toMatch(/^[0-9A-F]{32}$/);
  expect(second).not.toBe(first);
  expect(first.slice(0, 20)).toBe(second.slice(0, 20)); // ip + pid + per-process random
});

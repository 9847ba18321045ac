import { describe, expect, test } from "bun:test";
import { FrameBufferPool } from "./frame_pool.ts";

describe("FrameBufferPool", () => {
  test("a released buffer is lent again; views of it release it; a second release does nothing", () => {
    const pool = new FrameBufferPool(1024, 4);
    const first = pool.acquire();
    expect(first.length).toBe(1024);
    pool.release(first.subarray(100, 200)); // the frame written is a view of the buffer
    expect(pool.freeCount).toBe(1);
    pool.release(first);
    expect(pool.freeCount).toBe(1);
    const again = pool.acquire();
    expect(again.buffer).toBe(first.buffer);
    const other = pool.acquire();
    expect(other.buffer).not.toBe(first.buffer);
  });

  test("buffers the pool did not lend are ignored, and at most freeMax wait", () => {
    const pool = new FrameBufferPool(64, 2);
    pool.release(new Uint8Array(64));
    expect(pool.freeCount).toBe(0);
    const lent = [pool.acquire(), pool.acquire(), pool.acquire()];
    for (const buffer of lent) pool.release(buffer);
    expect(pool.freeCount).toBe(2);
  });
});

import { expect, test } from "bun:test";
import type { MessageQueue } from "./message.ts";
import { allocateAveragely, allocateAveragelyByCircle, allocateByConfig, allocateConsistentHash } from "./rebalance.ts";

const queues = (count: number): MessageQueue[] => Array.from({ length: count }, (_, queueId) => ({ topic: "T", brokerName: "b", queueId }));
const ids = (mqs: MessageQueue[]): number[] => mqs.map((mq) => mq.queueId);

test("8 queues over 3 consumers: contiguous blocks of 3, 3, 2", () => {
  const cids = ["c1", "c2", "c3"];
  expect(ids(allocateAveragely(queues(8), cids, "c1"))).toEqual([0, 1, 2]);
  expect(ids(allocateAveragely(queues(8), cids, "c2"))).toEqual([3, 4, 5]);
  expect(ids(allocateAveragely(queues(8), cids, "c3"))).toEqual([6, 7]);
});

test("more consumers than queues: the extra ones get nothing", () => {
  const cids = ["a", "b", "c"];
  expect(ids(allocateAveragely(queues(2), cids, "a"))).toEqual([0]);
  expect(ids(allocateAveragely(queues(2), cids, "b"))).toEqual([1]);
  expect(ids(allocateAveragely(queues(2), cids, "c"))).toEqual([]);
});

test("every queue goes to exactly one member, for many shapes", () => {
  for (let queueCount = 0; queueCount <= 17; queueCount++) {
    for (let members = 1; members <= 6; members++) {
      const cids = Array.from({ length: members }, (_, i) => `cid${i}`);
      const all = cids.flatMap((cid) => ids(allocateAveragely(queues(queueCount), cids, cid)));
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: queueCount }, (_, i) => i));
    }
  }
});

test("a consumer id that is not a member gets nothing", () => {
  expect(allocateAveragely(queues(4), ["a", "b"], "z")).toEqual([]);
});

test("consistent hash allocates as Java 4.9.8's AllocateMessageQueueConsistentHash (checked with jshell)", () => {
  const cids = ["127.0.0.1@a", "127.0.0.1@b", "127.0.0.1@c"];
  const strategy = allocateConsistentHash();
  const mqs = Array.from({ length: 8 }, (_, queueId) => ({ topic: "T", brokerName: "broker-a", queueId }));
  expect(cids.map((cid) => ids(strategy(mqs, cids, cid)))).toEqual([[2], [4, 5, 7], [0, 1, 3, 6]]);
});

test("by circle: queue i to consumer i mod n; by config: the given queues", () => {
  expect(ids(allocateAveragelyByCircle(queues(8), ["a", "b", "c"], "b"))).toEqual([1, 4, 7]);
  expect(ids(allocateByConfig(queues(2))(queues(8), ["a"], "a"))).toEqual([0, 1]);
});

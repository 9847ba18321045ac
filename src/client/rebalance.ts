// Queue allocation among the members of a consumer group. Every member must pass the same
// sorted inputs (queues by topic, broker, id; consumer ids lexicographically) so that they agree.
import { assert } from "../assert.ts";
import type { MessageQueue } from "./message.ts";

/**
 * Java's AllocateMessageQueueAveragely: contiguous blocks, the first `mqAll.length % cidAll.length`
 * consumers get one queue more. 8 queues, 3 consumers → 3, 3, 2. A consumer id not in cidAll gets
 * nothing, and so do consumers beyond the number of queues.
 */
export function allocateAveragely(mqAll: readonly MessageQueue[], cidAll: readonly string[], currentCid: string): MessageQueue[] {
  const index = cidAll.indexOf(currentCid);
  if (index < 0 || mqAll.length === 0) return [];
  const mod = mqAll.length % cidAll.length;
  const averageSize =
    mqAll.length <= cidAll.length ? 1 : mod > 0 && index < mod ? Math.floor(mqAll.length / cidAll.length) + 1 : Math.floor(mqAll.length / cidAll.length);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, mqAll.length - startIndex);
  const result: MessageQueue[] = [];
  for (let i = 0; i < range; i++) result.push(mqAll[(startIndex + i) % mqAll.length]!);
  assert(result.length <= mqAll.length);
  return result;
}

/** How a group's members split queues; every member must use the same one. */
export type AllocateStrategy = (mqAll: readonly MessageQueue[], cidAll: readonly string[], currentCid: string) => MessageQueue[];

/** Java's AllocateMessageQueueAveragelyByCircle: queue i goes to consumer i % cidAll.length. */
export function allocateAveragelyByCircle(mqAll: readonly MessageQueue[], cidAll: readonly string[], currentCid: string): MessageQueue[] {
  const index = cidAll.indexOf(currentCid);
  if (index < 0) return [];
  return mqAll.filter((_, i) => i % cidAll.length === index);
}

/** Java's MD5Hash: the first 4 bytes of the MD5 of the UTF-8 key, as an unsigned number. */
function md5Hash(key: string): number {
  const digest = new Bun.CryptoHasher("md5").update(key).digest();
  return digest.readUInt32BE(0);
}

/** The text Java's MessageQueue.toString() gives: the key of a queue on the hash ring. */
function messageQueueText(mq: MessageQueue): string {
  return `MessageQueue [topic=${mq.topic}, brokerName=${mq.brokerName}, queueId=${mq.queueId}]`;
}

/**
 * Java's AllocateMessageQueueConsistentHash: each consumer id is placed on an MD5 ring
 * `virtualNodes` times (as "<cid>-<i>"); a queue goes to the first node at or after its own hash.
 * Members may run Java or this SDK: the ring is the same.
 */
export function allocateConsistentHash(virtualNodes = 10): AllocateStrategy {
  assert(virtualNodes > 0);
  return (mqAll, cidAll, currentCid) => {
    if (!cidAll.includes(currentCid)) return [];
    const ring: Array<{ hash: number; cid: string }> = [];
    for (const cid of cidAll) for (let i = 0; i < virtualNodes; i++) ring.push({ hash: md5Hash(`${cid}-${i}`), cid });
    ring.sort((a, b) => a.hash - b.hash);
    return mqAll.filter((mq) => {
      const hash = md5Hash(messageQueueText(mq));
      const node = ring.find((candidate) => candidate.hash >= hash) ?? ring[0]!;
      return node.cid === currentCid;
    });
  };
}

/** Java's AllocateMessageQueueByConfig: always the given queues, whatever the group. */
export function allocateByConfig(queues: readonly MessageQueue[]): AllocateStrategy {
  return () => [...queues];
}

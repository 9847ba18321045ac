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

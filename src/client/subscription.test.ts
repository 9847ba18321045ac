import { expect, test } from "bun:test";
import { buildSubscription, tagsMatch } from "./subscription.ts";

test("subscriptions: '*' takes all, tags match exactly, codeSet is Java's hashCode", () => {
  const all = buildSubscription("T", "*", 1);
  expect(tagsMatch(all, undefined)).toBe(true);
  const some = buildSubscription("T", " TagA || TagB ||TagA", 1);
  expect(some.tagsSet).toEqual(["TagA", "TagB"]);
  expect(some.codeSet).toEqual([2598919, 2598920]);
  expect(tagsMatch(some, "TagB")).toBe(true);
  expect(tagsMatch(some, "TagC")).toBe(false);
  expect(tagsMatch(some, undefined)).toBe(false);
});

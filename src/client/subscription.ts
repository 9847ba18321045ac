// Tag subscriptions ("*" or "TagA || TagB"): the SubscriptionData a heartbeat carries, and the
// exact client-side tag check (the broker filters by tag hash code, which can collide).
import { javaHashCode } from "../protocol/message_properties.ts";

export const subscribeAll = "*";

/** SubscriptionData as the Java client sends it in HEART_BEAT (fastjson field names). */
export interface SubscriptionData {
  classFilterMode: boolean;
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType: ExpressionType;
}

/** TAG: "*" or "TagA || TagB"; SQL92: a property filter the broker evaluates ("a > 5 AND b = 'x'"). */
export type ExpressionType = "TAG" | "SQL92";

/** Java's FilterAPI.buildSubscriptionData for TAG expressions. */
export function buildSubscription(topic: string, expression: string, subVersion: number, expressionType: ExpressionType = "TAG"): SubscriptionData {
  const trimmed = expression.trim();
  if (expressionType === "SQL92") {
    return { classFilterMode: false, topic, subString: trimmed, tagsSet: [], codeSet: [], subVersion, expressionType };
  }
  const subString = trimmed === "" ? subscribeAll : trimmed;
  const tagsSet: string[] = [];
  if (subString !== subscribeAll) {
    for (const part of subString.split("||")) {
      const tag = part.trim();
      if (tag.length > 0 && !tagsSet.includes(tag)) tagsSet.push(tag);
    }
  }
  return {
    classFilterMode: false,
    topic,
    subString,
    tagsSet,
    codeSet: tagsSet.map(javaHashCode),
    subVersion,
    expressionType: "TAG",
  };
}

/** Java's rule: "*" takes everything; otherwise the message's TAGS must be one of the tags. */
export function tagsMatch(subscription: SubscriptionData, tags: string | undefined): boolean {
  if (subscription.expressionType === "SQL92") return true; // filtered by the broker
  if (subscription.subString === subscribeAll || subscription.tagsSet.length === 0) return true;
  return tags !== undefined && subscription.tagsSet.includes(tags);
}

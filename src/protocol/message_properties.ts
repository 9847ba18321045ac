// Message properties as RocketMQ encodes them: for each pair `name \u0001 value \u0002`,
// with a trailing \u0002. Stored with a short (UTF-8 byte) length, so at most 32767 bytes.
export const nameValueSeparator = "\u0001";
export const propertySeparator = "\u0002";
export const propertiesBytesMax = 32767;

/** Well-known property names (MessageConst). */
export const Property = {
  KEYS: "KEYS",
  TAGS: "TAGS",
  WAIT: "WAIT",
  DELAY: "DELAY",
  RETRY_TOPIC: "RETRY_TOPIC",
  REAL_TOPIC: "REAL_TOPIC",
  REAL_QID: "REAL_QID",
  TRAN_MSG: "TRAN_MSG",
  PGROUP: "PGROUP",
  MIN_OFFSET: "MIN_OFFSET",
  MAX_OFFSET: "MAX_OFFSET",
  ORIGIN_MESSAGE_ID: "ORIGIN_MESSAGE_ID",
  RECONSUME_TIME: "RECONSUME_TIME",
  MAX_RECONSUME_TIMES: "MAX_RECONSUME_TIMES",
  UNIQ_KEY: "UNIQ_KEY",
  COMPRESSION_TYPE: "COMPRESSION_TYPE",
} as const;

export function encodeProperties(properties: ReadonlyMap<string, string> | Record<string, string>): string {
  let out = "";
  const entries = properties instanceof Map ? properties.entries() : Object.entries(properties);
  for (const [name, value] of entries) out += name + nameValueSeparator + value + propertySeparator;
  return out;
}

export function decodeProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  if (text.length === 0) return properties;
  for (const item of text.split(propertySeparator)) {
    if (item.length === 0) continue;
    const at = item.indexOf(nameValueSeparator);
    if (at < 0) continue;
    properties.set(item.slice(0, at), item.slice(at + 1));
  }
  return properties;
}

/** Java's String.hashCode over UTF-16 code units, 32-bit signed: the consume-queue tag code. */
export function javaHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}

/** The tag code of a properties string: hash of TAGS, 0 when there is none. */
export function tagsCodeOf(tags: string | undefined): number {
  return tags === undefined || tags.length === 0 ? 0 : javaHashCode(tags);
}

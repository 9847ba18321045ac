// The stored message record (magic v1), written once into the commit log and returned verbatim
// in pull bodies. Big-endian. IPv4 hosts (sysFlag bits 0x10/0x20 clear) shown; an IPv6 host is
// 16 address bytes + 4 port bytes instead of 4 + 4.
//
//   #   field                      bytes  at (IPv4)
//   1   totalSize                  4      0
//   2   magic 0xDAA320A7           4      4
//   3   bodyCrc (& 0x7FFFFFFF)     4      8
//   4   queueId                    4      12
//   5   flag                       4      16
//   6   queueOffset                8      20
//   7   physicalOffset             8      28
//   8   sysFlag                    4      36
//   9   bornTimestamp              8      40
//   10  bornHost (addr + port)     8|20   48
//   11  storeTimestamp             8      56
//   12  storeHost (addr + port)    8|20   64
//   13  reconsumeTimes             4      72
//   14  preparedTransactionOffset  8      76
//   15  body length + body         4+B    84
//   16  topic length + topic       1+T
//   17  properties length + props  2+P
//   --
//   91 + B + T + P bytes in all (IPv4 born and store hosts)
import { assert } from "../assert.ts";

export const magicV1 = 0xdaa320a7 | 0; // -626843481
export const blankMagic = 0xcbd43194 | 0; // -875286124: end-of-file marker
export const recordFixedBytesIpv4 = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + 1 + 2;
assert(recordFixedBytesIpv4 === 91);
export const topicBytesMax = 127;

export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_PREPARED: 0x4,
  TRANSACTION_COMMIT: 0x8,
  TRANSACTION_ROLLBACK: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
  COMPRESSION_TYPE_MASK: 0x700,
  COMPRESSION_LZ4: 0x100,
  COMPRESSION_ZSTD: 0x200,
  COMPRESSION_ZLIB: 0x300,
} as const;

export const transactionType = (sysFlag: number): number => sysFlag & 0xc;

/** A socket address in its stored form: 4 or 16 address bytes, then a 4-byte port. */
export type HostBytes = Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function hostBytes(host: string, port: number): HostBytes {
  let out: Uint8Array;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    out = new Uint8Array(8);
    host.split(".").forEach((part, i) => (out[i] = Number(part)));
  } else {
    out = new Uint8Array(20);
    const groups = expandIpv6(host);
    groups.forEach((group, i) => {
      out[i * 2] = group >> 8;
      out[i * 2 + 1] = group & 0xff;
    });
  }
  // The port, big-endian, by hand: a DataView would make the engine materialize out.buffer, which
  // costs more than the rest of this function (the send path calls it for every message).
  out[out.length - 4] = (port >>> 24) & 0xff;
  out[out.length - 3] = (port >>> 16) & 0xff;
  out[out.length - 2] = (port >>> 8) & 0xff;
  out[out.length - 1] = port & 0xff;
  return out;
}

function expandIpv6(host: string): number[] {
  const bare = host.replace(/^\[|\]$/g, "").split("%")[0]!;
  const [head, tail] = bare.includes("::") ? bare.split("::") as [string, string] : [bare, ""];
  const headParts = head ? head.split(":") : [];
  const tailParts = tail ? tail.split(":") : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(Math.max(missing, 0)).fill("0"), ...tailParts];
  return parts.slice(0, 8).map((part) => Number.parseInt(part || "0", 16) || 0);
}

export function hostString(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const port = view.getInt32(bytes.length - 4);
  if (bytes.length === 8) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}:${port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `[${groups.join(":")}]:${port}`;
}

/** What the put path knows of a message before it has a place in the log. */
export interface MessageToStore {
  topic: string;
  queueId: number;
  flag: number;
  body: Uint8Array;
  /** The encoded properties string. */
  properties: string;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: HostBytes;
  storeHost: HostBytes;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  tagsCode: number;
}

/** The encoded sizes of a message's variable parts; computed once, used to size and write it. */
export interface RecordSizes {
  total: number;
  /** Shared by every record of the topic (topicBytesCache): read, never written. */
  topic: Uint8Array;
  properties: Uint8Array;
}

/** Encoded topic names: a broker stores to few topics, each send would encode its name again. */
const topicBytesCache = new Map<string, Uint8Array>();
/** Past this many names the cache starts over (a client inventing topic names costs memory no longer). */
const topicBytesCacheMax = 4096;

function topicBytes(topic: string): Uint8Array {
  let bytes = topicBytesCache.get(topic);
  if (bytes === undefined) {
    if (topicBytesCache.size >= topicBytesCacheMax) topicBytesCache.clear();
    bytes = encoder.encode(topic);
    topicBytesCache.set(topic, bytes);
  }
  return bytes;
}

export function recordSizes(message: MessageToStore): RecordSizes {
  const topic = topicBytes(message.topic);
  const properties = encoder.encode(message.properties);
  const total =
    recordFixedBytesIpv4 - 16 + message.bornHost.length + message.storeHost.length + message.body.length + topic.length + properties.length;
  return { total, topic, properties };
}

export function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 0x100000000));
  view.setUint32(at + 4, value >>> 0);
}
export function readU64(view: DataView, at: number): number {
  return view.getInt32(at) * 0x100000000 + view.getUint32(at + 4);
}

/**
 * Writes the record at `target[at]`. Returns its size. The caller has checked that it fits and
 * chose queueOffset, physicalOffset and storeTimestamp.
 */
export function writeRecord(
  target: Uint8Array,
  at: number,
  message: MessageToStore,
  sizes: RecordSizes,
  queueOffset: number,
  physicalOffset: number,
  storeTimestamp: number,
): number {
  const view = dataViewOf(target);
  let sysFlag = message.sysFlag & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6);
  if (message.bornHost.length === 20) sysFlag |= SysFlag.BORNHOST_V6;
  if (message.storeHost.length === 20) sysFlag |= SysFlag.STOREHOST_V6;
  let p = at;
  view.setInt32(p, sizes.total); p += 4;
  view.setInt32(p, magicV1); p += 4;
  view.setInt32(p, Bun.hash.crc32(message.body) & 0x7fffffff); p += 4;
  view.setInt32(p, message.queueId); p += 4;
  view.setInt32(p, message.flag); p += 4;
  writeU64(view, p, queueOffset); p += 8;
  writeU64(view, p, physicalOffset); p += 8;
  view.setInt32(p, sysFlag); p += 4;
  writeU64(view, p, message.bornTimestamp); p += 8;
  target.set(message.bornHost, p); p += message.bornHost.length;
  writeU64(view, p, storeTimestamp); p += 8;
  target.set(message.storeHost, p); p += message.storeHost.length;
  view.setInt32(p, message.reconsumeTimes); p += 4;
  writeU64(view, p, message.preparedTransactionOffset); p += 8;
  view.setInt32(p, message.body.length); p += 4;
  target.set(message.body, p); p += message.body.length;
  view.setUint8(p, sizes.topic.length); p += 1;
  target.set(sizes.topic, p); p += sizes.topic.length;
  view.setInt16(p, sizes.properties.length); p += 2;
  target.set(sizes.properties, p); p += sizes.properties.length;
  assert(p - at === sizes.total, "record size mismatch");
  return sizes.total;
}

/** A decoded stored record, as consumers see it. */
export interface MessageExt {
  storeSize: number;
  bodyCrc: number;
  queueId: number;
  flag: number;
  queueOffset: number;
  commitLogOffset: number;
  sysFlag: number;
  bornTimestamp: number;
  bornHost: string;
  /** The born host as stored: 4 or 16 address bytes, then the port. */
  bornHostBytes: Uint8Array;
  storeTimestamp: number;
  storeHost: string;
  storeHostBytes: Uint8Array;
  reconsumeTimes: number;
  preparedTransactionOffset: number;
  body: Uint8Array;
  topic: string;
  properties: string;
}

export class RecordError extends Error {}

/**
 * DataViews of long-lived byte arrays (the store's file mappings register theirs when mapped).
 * Making a DataView over a 1 GiB mapping costs more than reading a record header through it, and
 * recovery and the put path do that for every record.
 */
const longLivedViews = new WeakMap<Uint8Array, DataView>();

/** Remembers a DataView over `bytes` for dataViewOf: only for arrays that live long (file mappings). */
export function registerLongLivedView(bytes: Uint8Array): DataView {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  longLivedViews.set(bytes, view);
  return view;
}

/** A DataView over all of `bytes`: the registered one, or a new one. */
export function dataViewOf(bytes: Uint8Array): DataView {
  return longLivedViews.get(bytes) ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Checks the record at `source[at]` and returns its size, 0 for a blank end-of-file marker, or -1
 * when no valid record starts there (the end of the log). With `checkCrc`, the body CRC must match.
 */
export function checkRecord(source: Uint8Array, at: number, limit: number, checkCrc: boolean): number {
  if (at + 8 > limit) return -1;
  const view = dataViewOf(source);
  const size = view.getInt32(at);
  const magic = view.getInt32(at + 4);
  if (magic === blankMagic) return 0;
  if (magic !== magicV1 || size < recordFixedBytesIpv4 || at + size > limit) return -1;
  const sysFlag = view.getInt32(at + 36);
  const bornHostBytes = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostBytes = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
  const bodyLengthAt = at + 48 + bornHostBytes + 8 + storeHostBytes + 4 + 8;
  if (bodyLengthAt + 4 > at + size) return -1;
  const bodyBytes = view.getInt32(bodyLengthAt);
  if (bodyBytes < 0 || bodyLengthAt + 4 + bodyBytes + 1 > at + size) return -1;
  const topicBytes = view.getUint8(bodyLengthAt + 4 + bodyBytes);
  const propsAt = bodyLengthAt + 4 + bodyBytes + 1 + topicBytes;
  if (propsAt + 2 > at + size) return -1;
  const propsBytes = view.getInt16(propsAt);
  if (propsAt + 2 + propsBytes !== at + size) return -1;
  if (checkCrc) {
    const crc = Bun.hash.crc32(source.subarray(bodyLengthAt + 4, bodyLengthAt + 4 + bodyBytes)) & 0x7fffffff;
    if (crc !== view.getInt32(at + 8)) return -1;
  }
  return size;
}

export function decodeRecord(source: Uint8Array, at = 0): MessageExt {
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  if (at + recordFixedBytesIpv4 > source.length) throw new RecordError("record truncated");
  let p = at;
  const storeSize = view.getInt32(p); p += 4;
  const magic = view.getInt32(p); p += 4;
  if (magic !== magicV1) throw new RecordError(`bad magic ${magic}`);
  if (storeSize < recordFixedBytesIpv4 || at + storeSize > source.length) throw new RecordError("record truncated");
  const bodyCrc = view.getInt32(p); p += 4;
  const queueId = view.getInt32(p); p += 4;
  const flag = view.getInt32(p); p += 4;
  const queueOffset = readU64(view, p); p += 8;
  const commitLogOffset = readU64(view, p); p += 8;
  const sysFlag = view.getInt32(p); p += 4;
  const bornTimestamp = readU64(view, p); p += 8;
  const bornHostBytes = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
  const storeHostBytes = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
  const end = at + storeSize;
  // The fixed part with these host widths, then the body length field, must fit the record.
  if (recordFixedBytesIpv4 - 16 + bornHostBytes + storeHostBytes > storeSize) throw new RecordError("record shorter than its fixed fields");
  const bornHostRaw = source.slice(p, p + bornHostBytes);
  const bornHost = hostString(bornHostRaw); p += bornHostBytes;
  const storeTimestamp = readU64(view, p); p += 8;
  const storeHostRaw = source.slice(p, p + storeHostBytes);
  const storeHost = hostString(storeHostRaw); p += storeHostBytes;
  const reconsumeTimes = view.getInt32(p); p += 4;
  const preparedTransactionOffset = readU64(view, p); p += 8;
  const bodyBytes = view.getInt32(p); p += 4;
  // body, then 1 byte topic length, then 2 bytes properties length
  if (bodyBytes < 0 || p + bodyBytes + 1 > end) throw new RecordError("body overruns record");
  const body = source.slice(p, p + bodyBytes); p += bodyBytes;
  const topicBytes = view.getUint8(p); p += 1;
  if (p + topicBytes + 2 > end) throw new RecordError("topic overruns record");
  const topic = decoder.decode(source.subarray(p, p + topicBytes)); p += topicBytes;
  const propsBytes = view.getInt16(p); p += 2;
  if (propsBytes < 0 || p + propsBytes > end) throw new RecordError("properties overrun record");
  const properties = decoder.decode(source.subarray(p, p + propsBytes));
  return {
    storeSize, bodyCrc, queueId, flag, queueOffset, commitLogOffset, sysFlag, bornTimestamp, bornHost, bornHostBytes: bornHostRaw, storeTimestamp,
    storeHost, storeHostBytes: storeHostRaw, reconsumeTimes, preparedTransactionOffset, body, topic, properties,
  };
}

/** Decodes every record of a pull body (records back to back). */
export function decodeRecords(source: Uint8Array): MessageExt[] {
  const out: MessageExt[] = [];
  let at = 0;
  while (at + 8 <= source.length) {
    const message = decodeRecord(source, at);
    out.push(message);
    at += message.storeSize;
  }
  return out;
}

/** Two uppercase hex digits per byte value, for offsetMessageId. */
const byteHex = Array.from({ length: 256 }, (_, value) => value.toString(16).toUpperCase().padStart(2, "0"));
/** The last store host seen by offsetMessageId and its hex (a broker has one): a copy, compared by content. */
let hexHost = new Uint8Array(0);
let hexHostText = "";

function hexU32(value: number): string {
  return byteHex[value >>> 24]! + byteHex[(value >>> 16) & 0xff]! + byteHex[(value >>> 8) & 0xff]! + byteHex[value & 0xff]!;
}

/** The offset message id: store host bytes + port + commit-log offset, uppercase hex. */
export function offsetMessageId(storeHost: Uint8Array, commitLogOffset: number): string {
  assert(Number.isSafeInteger(commitLogOffset) && commitLogOffset >= 0, "commit-log offset out of range");
  let same = storeHost.length === hexHost.length;
  for (let i = 0; same && i < storeHost.length; i++) same = storeHost[i] === hexHost[i];
  if (!same) {
    hexHost = storeHost.slice();
    hexHostText = Buffer.from(storeHost).toString("hex").toUpperCase();
  }
  return hexHostText + hexU32(Math.floor(commitLogOffset / 0x100000000)) + hexU32(commitLogOffset >>> 0);
}

/** Decodes an offset message id into store address and commit-log offset. */
export function parseOffsetMessageId(id: string): { address: string; commitLogOffset: number } {
  if (!/^[0-9A-Fa-f]+$/.test(id) || (id.length !== 32 && id.length !== 56)) throw new RecordError(`not an offset message id: ${id}`);
  const bytes = new Uint8Array(Buffer.from(id, "hex"));
  const hostLength = bytes.length - 8;
  return { address: hostString(bytes.subarray(0, hostLength)), commitLogOffset: readU64(new DataView(bytes.buffer), hostLength) };
}

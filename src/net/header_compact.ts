// The compact ROCKETMQ binary header codec (serialize type 1), RocketMQSerializable's layout.
// Big-endian throughout:
//
//   size  field
//   2     code (short)
//   1     language code (byte: JAVA 0 … OMS 11, RUST 12, NODE_JS 13)
//   2     version (short)
//   4     opaque (int)
//   4     flag (int)
//   4     remark length R (0 = none), then R bytes UTF-8
//   4     extFields length E (0 = none), then E bytes of entries:
//           2 key length K, K bytes key, 4 value length V, V bytes value (UTF-8)
//   ----
//   21 + R + E bytes in all
import { HeaderError } from "./header_json.ts";
import { SerializeType, type RemotingCommand } from "./remoting_command.ts";

export const compactHeaderFixedBytes = 2 + 1 + 2 + 4 + 4 + 4 + 4; // = 21

export const languageCodes = [
  "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS", "RUST", "NODE_JS",
] as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeCompactHeader(command: RemotingCommand): Uint8Array {
  const remark = command.remark === null ? null : encoder.encode(command.remark);
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  let extBytes = 0;
  for (const [key, value] of Object.entries(command.extFields)) {
    const keyBytes = encoder.encode(key);
    const valueBytes = encoder.encode(value);
    entries.push([keyBytes, valueBytes]);
    extBytes += 2 + keyBytes.length + 4 + valueBytes.length;
  }
  const total = compactHeaderFixedBytes + (remark?.length ?? 0) + extBytes;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setInt16(at, command.code); at += 2;
  const language = languageCodes.indexOf(command.language as (typeof languageCodes)[number]);
  view.setUint8(at, language < 0 ? 7 /* OTHER */ : language); at += 1;
  view.setInt16(at, command.version); at += 2;
  view.setInt32(at, command.opaque); at += 4;
  view.setInt32(at, command.flag); at += 4;
  view.setInt32(at, remark?.length ?? 0); at += 4;
  if (remark) { out.set(remark, at); at += remark.length; }
  view.setInt32(at, extBytes); at += 4;
  for (const [keyBytes, valueBytes] of entries) {
    view.setInt16(at, keyBytes.length); at += 2;
    out.set(keyBytes, at); at += keyBytes.length;
    view.setInt32(at, valueBytes.length); at += 4;
    out.set(valueBytes, at); at += valueBytes.length;
  }
  if (at !== total) throw new Error("compact header size mismatch");
  return out;
}

export function decodeCompactHeader(bytes: Uint8Array): Omit<RemotingCommand, "body"> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (count: number): void => {
    if (count < 0 || at + count > bytes.length) throw new HeaderError("compact header truncated");
  };
  need(compactHeaderFixedBytes - 4);
  const code = view.getInt16(at); at += 2;
  const languageCode = view.getUint8(at); at += 1;
  const version = view.getInt16(at); at += 2;
  const opaque = view.getInt32(at); at += 4;
  const flag = view.getInt32(at); at += 4;
  const remarkBytes = view.getInt32(at); at += 4;
  need(remarkBytes);
  let remark: string | null = null;
  try {
    if (remarkBytes > 0) remark = decoder.decode(bytes.subarray(at, at + remarkBytes));
    at += remarkBytes;
    need(4);
    const extBytes = view.getInt32(at); at += 4;
    need(extBytes);
    const extEnd = at + extBytes;
    const extFields: Record<string, string> = {};
    while (at < extEnd) {
      if (at + 2 > extEnd) throw new HeaderError("compact header entry truncated");
      const keyBytes = view.getInt16(at); at += 2;
      if (keyBytes < 0 || at + keyBytes + 4 > extEnd) throw new HeaderError("compact header entry truncated");
      const key = decoder.decode(bytes.subarray(at, at + keyBytes)); at += keyBytes;
      const valueBytes = view.getInt32(at); at += 4;
      if (valueBytes < 0 || at + valueBytes > extEnd) throw new HeaderError("compact header entry truncated");
      extFields[key] = decoder.decode(bytes.subarray(at, at + valueBytes)); at += valueBytes;
    }
    if (at !== bytes.length) throw new HeaderError("compact header has trailing bytes");
    return {
      code, language: languageCodes[languageCode] ?? "OTHER", version, opaque, flag, remark, extFields,
      serializeType: SerializeType.ROCKETMQ,
    };
  } catch (error) {
    if (error instanceof HeaderError) throw error;
    throw new HeaderError("compact header is not valid UTF-8");
  }
}

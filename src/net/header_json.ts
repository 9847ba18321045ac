// The JSON header codec (serialize type 0), as fastjson writes and reads it.
//
//   {"code":310,"extFields":{"a":"PG",...},"flag":0,"language":"JAVA","opaque":2,"version":401,...}
//
// ali-ons sends extFields values as raw JSON numbers and booleans; they are coerced to strings
// here (booleans become "true"/"false"), nulls are dropped. Responses always carry strings.
import { SerializeType, type RemotingCommand } from "./remoting_command.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class HeaderError extends Error {}

/**
 * The header as fastjson writes it (keys in this order, remark last when there is one). Built as
 * text: JSON.stringify of a header object made per response cost twice as much.
 */
export function jsonHeaderText(command: RemotingCommand): string {
  let text =
    `{"code":${jsonNumber(command.code)},"extFields":${JSON.stringify(command.extFields)},"flag":${jsonNumber(command.flag)},` +
    `"language":${JSON.stringify(command.language)},"opaque":${jsonNumber(command.opaque)},"serializeTypeCurrentRPC":"JSON",` +
    `"version":${jsonNumber(command.version)}`;
  if (command.remark !== null) text += `,"remark":${JSON.stringify(command.remark)}`;
  return `${text}}`;
}

/** A number as JSON.stringify writes it. */
function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

export function encodeJsonHeader(command: RemotingCommand): Uint8Array {
  return encoder.encode(jsonHeaderText(command));
}

function asInt(value: unknown, name: string): number {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  throw new HeaderError(`header field ${name} is not an integer`);
}

export function decodeJsonHeader(bytes: Uint8Array): Omit<RemotingCommand, "body"> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new HeaderError("header is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new HeaderError("header is not a JSON object");
  const header = parsed as Record<string, unknown>;
  const rawExt = header["extFields"];
  let extFields: Record<string, string>;
  if (rawExt === undefined || rawExt === null) {
    extFields = {};
  } else {
    if (typeof rawExt !== "object" || Array.isArray(rawExt)) throw new HeaderError("extFields is not an object");
    extFields = stringFields(rawExt as Record<string, unknown>);
  }
  const remark = header["remark"];
  const language = header["language"];
  return {
    code: asInt(header["code"], "code"),
    language: typeof language === "string" ? language : "OTHER",
    version: header["version"] === undefined ? 0 : asInt(header["version"], "version"),
    opaque: asInt(header["opaque"], "opaque"),
    flag: header["flag"] === undefined ? 0 : asInt(header["flag"], "flag"),
    remark: typeof remark === "string" ? remark : null,
    extFields,
    serializeType: SerializeType.JSON,
  };
}

/**
 * extFields with every value a string. Clients that send strings only (the Java client, this
 * broker's own) get JSON.parse's object as it is: no second object, no Object.entries pairs, per
 * request. Anything else is copied with values coerced. An own "__proto__" key (JSON.parse makes
 * one; assigning it to a fresh object does not) takes the copying path, so both give the same keys.
 */
function stringFields(raw: Record<string, unknown>): Record<string, string> {
  let allStrings = true;
  for (const key in raw) {
    if (typeof raw[key] !== "string") {
      allStrings = false;
      break;
    }
  }
  if (allStrings && !Object.hasOwn(raw, "__proto__")) return raw as Record<string, string>;
  const extFields: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    extFields[key] = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return extFields;
}

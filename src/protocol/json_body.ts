// JSON bodies as the Java side writes them (fastjson: properties sorted, nulls omitted, maps as
// objects with quoted keys — valid JSON that every client in circulation reads).
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function normalise(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const key of [...value.keys()].sort()) out[String(key)] = normalise(value.get(key));
    return out;
  }
  if (value instanceof Set) return [...value].map(normalise);
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      if (field !== undefined && field !== null) out[key] = normalise(field);
    }
    return out;
  }
  return value;
}

export function encodeJsonBody(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(normalise(value)));
}

export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(normalise(value), null, indent);
}

/** A body that is not JSON (fastjson's unquoted integer keys aside): the only error decodeJsonBody throws. */
export class JsonBodyError extends Error {}

export function decodeJsonBody(body: Uint8Array | null): unknown {
  if (!body || body.length === 0) return null;
  const text = decoder.decode(body);
  try {
    return JSON.parse(text);
  } catch {
    try {
      return JSON.parse(text.replace(/([{,]\s*)(-?\d+)\s*:/g, '$1"$2":'));
    } catch (error) {
      // SyntaxError, or a RangeError for nesting deeper than the parser's stack.
      throw new JsonBodyError(`body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

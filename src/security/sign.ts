// Request signing as RocketMQ 4.x's ACL defines it, shared by the broker (to check) and our SDK
// and admin CLI (to sign).
//
// A signed request carries these extFields:
//   AccessKey      the account name (always)
//   SecurityToken  optional; signed like any other field, never checked by the broker
//   Signature      Base64(HMAC-SHA1(secretKey, content))
//
//   content = the values (not the keys) of every extField except Signature, in key order
//             (Java TreeMap order: UTF-16 code units, which is also what Array.sort() compares),
//             concatenated and UTF-8 encoded, followed by the body bytes (if any).
//
// The Java client's AclClientRPCHook and ali-ons (which also adds OnsChannel=ALIYUN before
// signing, so that field is signed like any other) compute exactly this. The values signed are
// the strings on the wire; ali-ons sends numbers and booleans as JSON values and signs their
// String() form, which is what our JSON header decoder turns them into.
import type { RemotingCommand } from "../net/remoting_command.ts";

export const accessKeyField = "AccessKey";
export const signatureField = "Signature";
export const securityTokenField = "SecurityToken";

export interface Credentials {
  accessKey: string;
  secretKey: string;
  securityToken?: string;
}

/** A keyed HMAC-SHA1 state for one secret: built once, copied per signature. */
export type SignatureKey = Bun.CryptoHasher;

export function signatureKey(secretKey: string): SignatureKey {
  return new Bun.CryptoHasher("sha1", secretKey);
}

/**
 * Base64 HMAC-SHA1 over `extFields` (minus Signature and `skipField`, if given) and `body`.
 * The values are fed to the HMAC one by one: the same bytes as their concatenation.
 */
export function computeSignature(key: SignatureKey, extFields: Record<string, string>, body: Uint8Array | null, skipField: string | null = null): string {
  const hmac = key.copy();
  const keys = Object.keys(extFields).sort();
  for (const name of keys) {
    if (name === signatureField || name === skipField) continue;
    hmac.update(extFields[name]!);
  }
  if (body !== null && body.length > 0) hmac.update(body);
  return hmac.digest("base64");
}

const signatureKeys = new Map<string, SignatureKey>();

/**
 * Adds AccessKey (and SecurityToken) to `request` and signs it, as AclClientRPCHook does. The
 * extFields object is replaced, not changed in place, so a header object the caller reuses is
 * never touched. Signing a request again (a retry) gives the same result.
 */
export function signRequest(request: RemotingCommand, credentials: Credentials): void {
  let key = signatureKeys.get(credentials.secretKey);
  if (key === undefined) {
    key = signatureKey(credentials.secretKey);
    signatureKeys.set(credentials.secretKey, key);
  }
  const extFields: Record<string, string> = { ...request.extFields, [accessKeyField]: credentials.accessKey };
  if (credentials.securityToken !== undefined) extFields[securityTokenField] = credentials.securityToken;
  extFields[signatureField] = computeSignature(key, extFields, request.body);
  request.extFields = extFields;
}

// The broker's ACL check: RocketMQ 4.x's PlainAccessValidator rules over the rules of
// plain_acl.yml (src/security/acl_config.ts). Called once per request before it is routed;
// returns null (go on) or the reason for NO_PERMISSION (16).
//
// In order, as PlainPermissionManager.validate:
//   1. the remote address matches a globalWhiteRemoteAddresses pattern   → pass
//   2. no AccessKey extField                                             → "No accessKey is configured"
//   3. no account with that AccessKey                                    → "No acl config for AK"
//   4. the address matches the account's whiteRemoteAddress              → pass (no signature, no perms)
//   5. Signature differs from ours (src/security/sign.ts)                → "Check signature failed for accessKey=AK"
//   6. PUB on RMQ_SYS_TRACE_TOPIC (message traces)                       → pass
//   7. an admin request code and the account is not admin                → "Need admin permission for request code=N, but accessKey=AK is not"
//   8. each resource the request touches, with the permission it needs:
//      the account's entry for it, else its defaultTopicPerm / defaultGroupPerm (groups are the
//      %RETRY%<group> topic); an admin account without any entries passes → "No default permission for topic:T" / "group:G"
//
// Resources per request code (extField names as on the wire):
//   SEND_MESSAGE (10)          topic PUB; a %RETRY% topic: %RETRY%<group> SUB instead
//   SEND_MESSAGE_V2 (310)      b PUB; a %RETRY% topic: %RETRY%<a> SUB instead
//   CONSUMER_SEND_MSG_BACK (36) %RETRY%<group> SUB
//   PULL_MESSAGE (11)          topic SUB, %RETRY%<consumerGroup> SUB
//   QUERY_MESSAGE (12)         topic SUB
//   HEART_BEAT (34)            per consumer in the body: %RETRY%<groupName> SUB, each subscribed topic SUB
//   UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38)   %RETRY%<consumerGroup> SUB
//   UPDATE_CONSUMER_OFFSET (15) %RETRY%<consumerGroup> SUB, topic SUB
//   anything else              signature only (plus the admin rule)
// SEND_BATCH_MESSAGE (320) is not in RocketMQ's list: like RocketMQ, only its signature is checked.
//
// Deviations from RocketMQ 4.9.8: the answer is NO_PERMISSION (16) with the message as remark
// (RocketMQ answers SYSTEM_ERROR (1) with the AclException's text); a QUERY_MESSAGE carrying
// _UNIQUE_KEY_QUERY passes whether or not that field was signed (the Java client signs it, the
// RocketMQ broker leaves it out, so such lookups always fail there); one file, not conf/acl/*.yml.
import type { RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { decodeJsonBody } from "../protocol/json_body.ts";
import { retryTopicPrefix } from "../protocol/topic.ts";
import { Perm, permits, type Account, type AclRules } from "./acl_config.ts";
import { accessKeyField, computeSignature, signatureField, signatureKey, type Credentials, type SignatureKey } from "./sign.ts";

export const traceTopic = "RMQ_SYS_TRACE_TOPIC";
export const uniqueKeyQueryField = "_UNIQUE_KEY_QUERY";

/** RocketMQ's Permission.ADMIN_CODE. */
export const adminRequestCodes: ReadonlySet<number> = new Set([
  RequestCode.UPDATE_AND_CREATE_TOPIC, // 17
  25, // UPDATE_BROKER_CONFIG
  RequestCode.DELETE_TOPIC_IN_BROKER, // 215
  200, // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
  207, // DELETE_SUBSCRIPTIONGROUP
]);

/**
 * An account that only the name server in the same process knows (a random secret made at
 * start): it may send UPDATE_AND_CREATE_TOPIC and nothing else, so that create-on-lookup of
 * unknown topics (src/namesrv/namesrv.ts) works with ACL on.
 */
export interface InternalAccount {
  credentials: Credentials;
  allowedCodes: ReadonlySet<number>;
}

export function newInternalAccount(allowedCodes: number[]): InternalAccount {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return {
    credentials: { accessKey: "bolide.internal", secretKey: Buffer.from(bytes).toString("base64") },
    allowedCodes: new Set(allowedCodes),
  };
}

interface HeartbeatBody {
  consumerDataSet?: Array<{ groupName?: unknown; subscriptionDataSet?: Array<{ topic?: unknown }> }>;
}

export class AclValidator {
  private readonly internalKey: SignatureKey | null;

  constructor(
    private readonly rules: () => AclRules,
    private readonly internal: InternalAccount | null = null,
  ) {
    this.internalKey = internal === null ? null : signatureKey(internal.credentials.secretKey);
  }

  /** null: the request may go on; otherwise why it may not. `host`: the remote address, no port. */
  check(request: RemotingCommand, host: string): string | null {
    const rules = this.rules();
    for (const matcher of rules.globalWhiteRemoteAddresses) if (matcher(host)) return null;
    const fields = request.extFields;
    const accessKey = fields[accessKeyField];
    if (accessKey === undefined) return "No accessKey is configured";
    if (this.internal !== null && accessKey === this.internal.credentials.accessKey) return this.checkInternal(request);
    const account = rules.accounts.get(accessKey);
    if (account === undefined) return `No acl config for ${accessKey}`;
    if (account.whiteRemoteAddress !== null && account.whiteRemoteAddress(host)) return null;
    if (!signatureMatches(account.signatureKey, request)) return `Check signature failed for accessKey=${accessKey}`;
    return checkPerms(account, request);
  }

  private checkInternal(request: RemotingCommand): string | null {
    if (!signatureMatches(this.internalKey!, request)) return `Check signature failed for accessKey=${this.internal!.credentials.accessKey}`;
    if (!this.internal!.allowedCodes.has(request.code)) return `request code=${request.code} is not allowed for the internal account`;
    return null;
  }
}

function signatureMatches(key: SignatureKey, request: RemotingCommand): boolean {
  const given = request.extFields[signatureField];
  if (given === undefined) return false;
  if (computeSignature(key, request.extFields, request.body) === given) return true;
  // The Java client signs _UNIQUE_KEY_QUERY; RocketMQ's broker leaves it out. Accept both.
  if (request.code === RequestCode.QUERY_MESSAGE && request.extFields[uniqueKeyQueryField] !== undefined) {
    return computeSignature(key, request.extFields, request.body, uniqueKeyQueryField) === given;
  }
  return false;
}

function checkPerms(account: Account, request: RemotingCommand): string | null {
  const fields = request.extFields;
  // One or two resources for most codes: checked straight away, no list built.
  switch (request.code) {
    case RequestCode.SEND_MESSAGE:
    case RequestCode.SEND_MESSAGE_V2: {
      const v2 = request.code === RequestCode.SEND_MESSAGE_V2;
      const topic = fields[v2 ? "b" : "topic"];
      if (topic !== undefined && topic.startsWith(retryTopicPrefix)) {
        const group = fields[v2 ? "a" : "group"];
        return adminCheck(account, request) ?? (group === undefined ? null : need(account, retryTopicPrefix + group, Perm.SUB));
      }
      // RMQ_SYS_TRACE_TOPIC with PUB skips every permission check, the admin one included.
      if (topic === traceTopic) return null;
      return adminCheck(account, request) ?? (topic === undefined ? null : need(account, topic, Perm.PUB));
    }
    case RequestCode.CONSUMER_SEND_MSG_BACK:
      return adminCheck(account, request) ?? needGroup(account, fields["group"]);
    case RequestCode.PULL_MESSAGE:
      return adminCheck(account, request) ?? needTopic(account, fields["topic"]) ?? needGroup(account, fields["consumerGroup"]);
    case RequestCode.QUERY_MESSAGE:
      return adminCheck(account, request) ?? needTopic(account, fields["topic"]);
    case RequestCode.UNREGISTER_CLIENT:
    case RequestCode.GET_CONSUMER_LIST_BY_GROUP:
      return adminCheck(account, request) ?? needGroup(account, fields["consumerGroup"]);
    case RequestCode.UPDATE_CONSUMER_OFFSET:
      return adminCheck(account, request) ?? needGroup(account, fields["consumerGroup"]) ?? needTopic(account, fields["topic"]);
    case RequestCode.HEART_BEAT:
      return adminCheck(account, request) ?? checkHeartbeat(account, request.body);
    default:
      return adminCheck(account, request);
  }
}

function adminCheck(account: Account, request: RemotingCommand): string | null {
  if (adminRequestCodes.has(request.code) && !account.admin) {
    return `Need admin permission for request code=${request.code}, but accessKey=${account.accessKey} is not`;
  }
  return null;
}

function needTopic(account: Account, topic: string | undefined): string | null {
  return topic === undefined ? null : need(account, topic, Perm.SUB);
}

function needGroup(account: Account, group: string | undefined): string | null {
  return group === undefined ? null : need(account, retryTopicPrefix + group, Perm.SUB);
}

/** Whether `account` holds `perm` on `resource` (a topic, or %RETRY%<group> for a group). */
function need(account: Account, resource: string, perm: number): string | null {
  const owned = account.resourcePerms;
  if (owned === null && account.admin) return null;
  const isGroup = resource.startsWith(retryTopicPrefix);
  const listed = owned?.get(resource);
  const have = listed ?? (isGroup ? account.defaultGroupPerm : account.defaultTopicPerm);
  if (permits(perm, have)) return null;
  return `No default permission for ${isGroup ? `group:${resource.slice(retryTopicPrefix.length)}` : `topic:${resource}`}`;
}

function checkHeartbeat(account: Account, body: Uint8Array | null): string | null {
  let data: HeartbeatBody | null;
  try {
    data = decodeJsonBody(body) as HeartbeatBody | null;
  } catch {
    return "heartbeat body is not valid JSON";
  }
  for (const consumer of data?.consumerDataSet ?? []) {
    if (typeof consumer.groupName === "string") {
      const problem = needGroup(account, consumer.groupName);
      if (problem !== null) return problem;
    }
    for (const subscription of consumer.subscriptionDataSet ?? []) {
      if (typeof subscription.topic !== "string") continue;
      const problem = needTopic(account, subscription.topic);
      if (problem !== null) return problem;
    }
  }
  return null;
}

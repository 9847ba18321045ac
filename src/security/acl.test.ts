import { expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { newRequest } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { encodeJsonBody } from "../protocol/json_body.ts";
import { AclValidator, newInternalAccount } from "./acl.ts";
import { AclConfigError, compileAddress, expandIpv6, parseAclYaml, Perm } from "./acl_config.ts";
import { computeSignature, signatureKey, signRequest, type Credentials } from "./sign.ts";

const yaml = `
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: adminKey1
    secretKey: adminSecret1
    admin: true
  - accessKey: pubOnly1
    secretKey: pubSecret1
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - TopicA=PUB
      - TopicB=PUB|SUB
  - accessKey: subOnly1
    secretKey: subSecret1
    whiteRemoteAddress: 192.168.1.{5,6}
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
    topicPerms:
      - Secret=DENY
    groupPerms:
      - BadGroup=DENY
`;

const admin: Credentials = { accessKey: "adminKey1", secretKey: "adminSecret1" };
const pub: Credentials = { accessKey: "pubOnly1", secretKey: "pubSecret1" };
const sub: Credentials = { accessKey: "subOnly1", secretKey: "subSecret1" };

const rules = parseAclYaml(yaml);
const validator = new AclValidator(() => rules);

function signed(code: number, fields: Record<string, string>, credentials: Credentials | null, body: Uint8Array | null = null) {
  const request = newRequest(code, { ...fields }, body);
  if (credentials !== null) signRequest(request, credentials);
  return request;
}

test("the signature is HMAC-SHA1 over the values in key order, then the body (AclClientRPCHook)", () => {
  const body = new TextEncoder().encode("hello");
  const request = signed(RequestCode.SEND_MESSAGE_V2, { b: "TopicA", a: "PG", z: "1", B: "x" }, pub, body);
  // Keys sorted: AccessKey, B, a, b, z (upper case before lower case, as Java's TreeMap).
  const content = Buffer.concat([Buffer.from("pubOnly1" + "x" + "PG" + "TopicA" + "1"), Buffer.from(body)]);
  expect(request.extFields["Signature"]).toBe(createHmac("sha1", "pubSecret1").update(content).digest("base64"));
  expect(request.extFields["AccessKey"]).toBe("pubOnly1");
  // Signing again (a retry) gives the same fields.
  const again = { ...request.extFields };
  signRequest(request, pub);
  expect(request.extFields).toEqual(again);
  expect(computeSignature(signatureKey("pubSecret1"), request.extFields, body)).toBe(again["Signature"]!);
});

test("who may do what", () => {
  const host = "127.0.0.1";
  const send = (topic: string, who: Credentials | null) => validator.check(signed(RequestCode.SEND_MESSAGE_V2, { a: "PG", b: topic }, who), host);
  expect(send("TopicA", pub)).toBeNull();
  expect(send("TopicC", pub)).toBe("No default permission for topic:TopicC");
  expect(send("TopicA", null)).toBe("No accessKey is configured");
  expect(send("TopicA", { accessKey: "nobody12", secretKey: "whatever1" })).toBe("No acl config for nobody12");
  expect(send("TopicA", { accessKey: "pubOnly1", secretKey: "wrongSecret" })).toBe("Check signature failed for accessKey=pubOnly1");
  expect(send("Secret", sub)).toBe("No default permission for topic:Secret");
  expect(send("Anything", admin)).toBeNull();
  // Tampering after signing breaks the signature.
  const tampered = signed(RequestCode.SEND_MESSAGE_V2, { a: "PG", b: "TopicA" }, pub);
  tampered.extFields["b"] = "TopicB";
  expect(validator.check(tampered, host)).toBe("Check signature failed for accessKey=pubOnly1");

  const pull = (topic: string, group: string, who: Credentials) => validator.check(signed(RequestCode.PULL_MESSAGE, { topic, consumerGroup: group }, who), host);
  expect(pull("Orders", "G1", sub)).toBeNull();
  expect(pull("Orders", "BadGroup", sub)).toBe("No default permission for group:BadGroup");
  expect(pull("TopicA", "G1", pub)).toBe("No default permission for topic:TopicA");
  expect(pull("TopicB", "G1", pub)).toBe("No default permission for group:G1");

  // A send to a %RETRY% topic needs SUB on the sending group (field a), as RocketMQ checks it.
  expect(send("%RETRY%G1", sub)).toBeNull();
  expect(send("%RETRY%G1", pub)).toBe("No default permission for group:PG");

  const create = (who: Credentials) => validator.check(signed(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: "T" }, who), host);
  expect(create(admin)).toBeNull();
  expect(create(sub)).toBe("Need admin permission for request code=17, but accessKey=subOnly1 is not");

  const heartbeat = (group: string, topic: string) =>
    validator.check(signed(RequestCode.HEART_BEAT, {}, sub, encodeJsonBody({ clientID: "c", consumerDataSet: [{ groupName: group, subscriptionDataSet: [{ topic }] }], producerDataSet: [] })), host);
  expect(heartbeat("G1", "Orders")).toBeNull();
  expect(heartbeat("G1", "Secret")).toBe("No default permission for topic:Secret");
  expect(heartbeat("BadGroup", "Orders")).toBe("No default permission for group:BadGroup");

  // Codes without resources need only a valid signature.
  expect(validator.check(signed(RequestCode.GET_MAX_OFFSET, { topic: "Secret", queueId: "0" }, sub), host)).toBeNull();
  // Traces may always be sent.
  expect(send("RMQ_SYS_TRACE_TOPIC", pub)).toBeNull();
});

test("white addresses: global ones pass anybody, an account's pass that account unsigned", () => {
  const unsigned = newRequest(RequestCode.SEND_MESSAGE_V2, { a: "PG", b: "Secret" });
  expect(validator.check(unsigned, "10.10.103.7")).toBeNull();
  expect(validator.check(unsigned, "10.10.104.7")).toBe("No accessKey is configured");
  const badSignature = newRequest(RequestCode.SEND_MESSAGE_V2, { a: "PG", b: "Secret", AccessKey: "subOnly1", Signature: "x" });
  expect(validator.check(badSignature, "192.168.1.5")).toBeNull();
  expect(validator.check(badSignature, "192.168.1.7")).toBe("Check signature failed for accessKey=subOnly1");
});

test("address patterns", () => {
  const matches = (pattern: string, host: string) => compileAddress(pattern)!(host);
  expect(compileAddress("")).toBeNull();
  expect(matches("*", "1.2.3.4")).toBe(true);
  expect(matches("192.168.1.1-200", "192.168.1.200")).toBe(true);
  expect(matches("192.168.1.1-200", "192.168.1.201")).toBe(false);
  expect(matches("192.168.*", "192.168.77.1")).toBe(true);
  expect(matches("192.168.*.*", "192.169.0.1")).toBe(false);
  expect(matches("192.168.2-3.*", "192.168.3.9")).toBe(true);
  expect(matches("192.168.2-3.*", "192.168.4.9")).toBe(false);
  expect(matches("192.168.1.{1,2}", "192.168.1.2")).toBe(true);
  expect(matches("192.168.1.{1,2}", "192.168.1.3")).toBe(false);
  expect(matches("1.2.3.4,5.6.7.8", "5.6.7.8")).toBe(true);
  expect(matches("127.0.0.1", "127.0.0.1")).toBe(true);
  expect(matches("::1", "0:0:0:0:0:0:0:1")).toBe(true);
  expect(expandIpv6("2001:db8::1")).toBe("2001:0DB8:0000:0000:0000:0000:0000:0001");
  expect(() => compileAddress("not-an-address")).toThrow(AclConfigError);
  expect(() => compileAddress("192.168.1.300-1")).toThrow(AclConfigError);
  expect(() => compileAddress("2001:db8::1-5")).toThrow(AclConfigError);
});

test("config errors and lenient permissions", () => {
  expect(() => parseAclYaml("accounts:\n  - accessKey: short\n    secretKey: longEnough1\n")).toThrow(AclConfigError);
  expect(() => parseAclYaml("accounts:\n  - accessKey: longEnough1\n    secretKey: longEnough1\n    topicPerms: [noEquals]\n")).toThrow(AclConfigError);
  expect(() => parseAclYaml("accounts: [")).toThrow(AclConfigError);
  expect(() => parseAclYaml("accounts:\n  - {accessKey: same12345, secretKey: secret123}\n  - {accessKey: same12345, secretKey: secret456}\n")).toThrow(AclConfigError);
  const warnings: string[] = [];
  const parsed = parseAclYaml("accounts:\n  - {accessKey: key123456, secretKey: secret123, defaultTopicPerm: READ}\n", warnings);
  expect(parsed.accounts.get("key123456")!.defaultTopicPerm).toBe(Perm.DENY);
  expect(warnings.length).toBe(1);
  expect(parseAclYaml("").accounts.size).toBe(0);
});

test("the internal account may create topics and nothing else", () => {
  const internal = newInternalAccount([RequestCode.UPDATE_AND_CREATE_TOPIC]);
  const withInternal = new AclValidator(() => rules, internal);
  expect(withInternal.check(signed(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: "T" }, internal.credentials), "127.0.0.1")).toBeNull();
  expect(withInternal.check(signed(RequestCode.DELETE_TOPIC_IN_BROKER, { topic: "T" }, internal.credentials), "127.0.0.1")).toContain("not allowed");
  const forged = signed(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: "T" }, { accessKey: internal.credentials.accessKey, secretKey: "guessed1" });
  expect(withInternal.check(forged, "127.0.0.1")).toContain("Check signature failed");
});

test("QUERY_MESSAGE with _UNIQUE_KEY_QUERY passes signed either way (the Java client signs it, RocketMQ's broker does not)", () => {
  const javaStyle = signed(RequestCode.QUERY_MESSAGE, { topic: "Orders", key: "K", maxNum: "32", beginTimestamp: "0", endTimestamp: "1", _UNIQUE_KEY_QUERY: "true" }, sub);
  expect(validator.check(javaStyle, "127.0.0.1")).toBeNull();
  const brokerStyle = signed(RequestCode.QUERY_MESSAGE, { topic: "Orders", key: "K", maxNum: "32", beginTimestamp: "0", endTimestamp: "1" }, sub);
  brokerStyle.extFields["_UNIQUE_KEY_QUERY"] = "true";
  expect(validator.check(brokerStyle, "127.0.0.1")).toBeNull();
  // Any other unsigned field still breaks the signature.
  brokerStyle.extFields["maxNum"] = "64";
  expect(validator.check(brokerStyle, "127.0.0.1")).toBe("Check signature failed for accessKey=subOnly1");
});

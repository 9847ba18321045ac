import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Prng, type Io } from "../../io/io.ts";
import type { Connection } from "../../net/connection.ts";
import type { RemotingCommand } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { ResponseCode } from "../../net/response_code.ts";
import { decodeProperties, encodeProperties, javaHashCode, Property } from "../../protocol/message_properties.ts";
import { decodeRecord, hostBytes, SysFlag, transactionType, type MessageToStore } from "../../protocol/message_record.ts";
import { MessageStore } from "../../store/message_store.ts";
import { ClientManager } from "../client_manager.ts";
import { ConsumerOffsetManager } from "../consumer_offset_manager.ts";
import { checkMaxTimeTopic, EndType, halfTopic, isPreparedSend, opHalfTopic, TransactionProperty } from "./half_message.ts";
import { TransactionService, type TransactionConfig } from "./transaction_service.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const storeHost = hostBytes("127.0.0.1", 10911);
const config: TransactionConfig = { transactionTimeOutMs: 6_000, transactionCheckIntervalMs: 60_000, transactionCheckMax: 2 };

interface World {
  dataDir: string;
  clock: { now: number };
  store: MessageStore;
  offsets: ConsumerOffsetManager;
  clients: ClientManager;
  service: TransactionService;
  sent: RemotingCommand[];
}

function world(dataDir = mkdtempSync(join(tmpdir(), "bolide-tx-")), clock = { now: 1_000_000 }): World {
  if (!dirs.includes(dataDir)) dirs.push(dataDir);
  const io: Io = { clock: { monotonicMs: () => clock.now, realtimeMs: () => clock.now }, random: new Prng(7) };
  const store = new MessageStore(
    { dataDir, commitLogFileBytes: 256 * 1024, consumeQueueEntriesPerFile: 100, messageBodyBytesMax: 64 * 1024, flush: "async", flushIntervalMs: 50, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024 },
    io,
  );
  store.load();
  const offsets = new ConsumerOffsetManager(dataDir);
  offsets.load();
  const clients = new ClientManager(120_000);
  const sent: RemotingCommand[] = [];
  const producer = { attributes: new Map<string, unknown>(), closed: false, invokeOneway: (request: RemotingCommand) => sent.push(request) };
  clients.heartbeat(producer as unknown as Connection, { clientID: "127.0.0.1@p", producerDataSet: [{ groupName: "PG" }] }, clock.now);
  const service = new TransactionService(store, offsets, clients, io, () => storeHost, (message) => message, config);
  service.load();
  return { dataDir, clock, store, offsets, clients, service, sent };
}

function prepared(text: string, bornTimestamp: number): { message: MessageToStore; properties: Map<string, string> } {
  const properties = new Map([
    [Property.TAGS, "TagA"],
    [Property.TRAN_MSG, "true"],
    [Property.PGROUP, "PG"],
    [Property.UNIQ_KEY, `ID-${text}`],
  ]);
  const message: MessageToStore = {
    topic: "Orders", queueId: 2, flag: 0, body: new TextEncoder().encode(text), properties: encodeProperties(properties),
    sysFlag: SysFlag.TRANSACTION_PREPARED, bornTimestamp, bornHost: hostBytes("127.0.0.1", 5555), storeHost,
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("TagA"),
  };
  return { message, properties };
}

async function sendHalf(w: World, text: string): Promise<{ queueOffset: number; commitLogOffset: number }> {
  const { message, properties } = prepared(text, w.clock.now);
  expect(isPreparedSend(message.sysFlag, properties)).toBe(true);
  const put = await w.store.put(w.service.prepare(message, properties), false);
  return { queueOffset: put.queueOffset, commitLogOffset: put.physicalOffset };
}

function bodiesOf(store: MessageStore, topic: string, queueId: number): string[] {
  return store.get(topic, queueId, 0, 100, () => true).records.map((record) => new TextDecoder().decode(decodeRecord(record).body));
}

test("a half message is invisible; commit makes it visible once, rollback never; bad ENDs change nothing", async () => {
  const w = world();
  const a = await sendHalf(w, "a");
  const b = await sendHalf(w, "b");
  expect(bodiesOf(w.store, "Orders", 2)).toEqual([]);
  expect(bodiesOf(w.store, halfTopic, 0)).toEqual(["a", "b"]);

  const end = (half: { queueOffset: number; commitLogOffset: number }, type: number, producerGroup = "PG") =>
    w.service.end({ producerGroup, tranStateTableOffset: half.queueOffset, commitLogOffset: half.commitLogOffset, commitOrRollback: type, fromTransactionCheck: false });
  expect(await end(a, EndType.commit, "PG_wrong")).toEqual({ code: ResponseCode.SYSTEM_ERROR, remark: "The producer group wrong" });
  expect(await end({ ...a, queueOffset: 7 }, EndType.commit)).toEqual({ code: ResponseCode.SYSTEM_ERROR, remark: "The transaction state table offset wrong" });
  expect((await end({ queueOffset: 0, commitLogOffset: 99_999 }, EndType.commit))?.code).toBe(ResponseCode.SYSTEM_ERROR);
  expect(await end(a, EndType.notType)).toBeNull();
  expect(bodiesOf(w.store, "Orders", 2)).toEqual([]);

  expect((await end(a, EndType.commit))?.code).toBe(ResponseCode.SUCCESS);
  expect((await end(a, EndType.commit))?.code).toBe(ResponseCode.SUCCESS); // again: no second copy
  expect((await end(b, EndType.rollback))?.code).toBe(ResponseCode.SUCCESS);
  expect((await end(b, EndType.commit))?.code).toBe(ResponseCode.SUCCESS); // settled already: stays rolled back
  expect(bodiesOf(w.store, "Orders", 2)).toEqual(["a"]);
  const committed = decodeRecord(w.store.get("Orders", 2, 0, 1, () => true).records[0]!);
  expect(transactionType(committed.sysFlag)).toBe(SysFlag.TRANSACTION_COMMIT);
  expect(committed.preparedTransactionOffset).toBe(a.commitLogOffset);
  const properties = decodeProperties(committed.properties);
  expect(properties.has(Property.REAL_TOPIC)).toBe(false);
  expect(properties.has(Property.TRAN_MSG)).toBe(false);
  expect(properties.get(Property.UNIQ_KEY)).toBe("ID-a");
  expect(bodiesOf(w.store, opHalfTopic, 0)).toEqual(["0", "1"]);
  await w.store.shutdown();
});

test("check-back: old unsettled halves are re-appended and checked, then given up after transactionCheckMax; state survives a restart", async () => {
  const w = world();
  const a = await sendHalf(w, "a");
  await w.service.check();
  expect(w.sent).toEqual([]); // younger than transactionTimeOut
  w.clock.now += config.transactionTimeOutMs;
  await w.service.check();
  expect(w.sent.length).toBe(1);
  const check = w.sent[0]!;
  expect(check.code).toBe(RequestCode.CHECK_TRANSACTION_STATE);
  const checked = decodeRecord(check.body!);
  expect(checked.topic).toBe("Orders");
  expect(checked.queueId).toBe(2);
  expect(new TextDecoder().decode(checked.body)).toBe("a");
  expect(check.extFields["msgId"]).toBe("ID-a");
  const copyOffset = Number(check.extFields["tranStateTableOffset"]);
  expect(copyOffset).toBe(1);
  expect(decodeProperties(checked.properties).get(TransactionProperty.CHECK_TIMES)).toBe("1");

  // The producer answers the check: the copy commits; the late original END changes nothing.
  const answer = await w.service.end({
    producerGroup: "PG", tranStateTableOffset: copyOffset, commitLogOffset: Number(check.extFields["commitLogOffset"]), commitOrRollback: EndType.commit, fromTransactionCheck: true,
  });
  expect(answer?.code).toBe(ResponseCode.SUCCESS);
  await w.service.end({ producerGroup: "PG", tranStateTableOffset: a.queueOffset, commitLogOffset: a.commitLogOffset, commitOrRollback: EndType.commit, fromTransactionCheck: false });
  expect(bodiesOf(w.store, "Orders", 2)).toEqual(["a"]);

  // Never answered: checked transactionCheckMax (2) times, then kept aside and settled.
  await sendHalf(w, "z");
  w.clock.now += config.transactionTimeOutMs;
  for (let pass = 0; pass < 4; pass++) await w.service.check();
  const zChecks = w.sent.filter((request) => request.extFields["msgId"] === "ID-z");
  expect(zChecks.length).toBe(2);
  expect(bodiesOf(w.store, checkMaxTimeTopic, 0)).toEqual(["z"]);
  expect(bodiesOf(w.store, "Orders", 2)).toEqual(["a"]);
  w.offsets.persist(true);
  await w.store.shutdown();

  // Restart: the op queue says what is settled; nothing is checked or committed again.
  const again = world(w.dataDir, w.clock);
  w.clock.now += config.transactionTimeOutMs;
  await again.service.check();
  expect(again.sent).toEqual([]);
  await again.service.end({ producerGroup: "PG", tranStateTableOffset: a.queueOffset, commitLogOffset: a.commitLogOffset, commitOrRollback: EndType.commit, fromTransactionCheck: false });
  expect(bodiesOf(again.store, "Orders", 2)).toEqual(["a"]);
  await again.store.shutdown();
});

test("settled offsets are forgotten once retention deleted their half records; an END for them then finds nothing", async () => {
  const w = world();
  const end = (half: { queueOffset: number; commitLogOffset: number }) =>
    w.service.end({ producerGroup: "PG", tranStateTableOffset: half.queueOffset, commitLogOffset: half.commitLogOffset, commitOrRollback: EndType.commit, fromTransactionCheck: false });
  const halves: Array<{ queueOffset: number; commitLogOffset: number }> = [];
  const big = "x".repeat(40 * 1024); // 256 KiB segments: a few halves and their commits per segment
  for (let i = 0; i < 12; i++) {
    const { message, properties } = prepared(String(i), w.clock.now);
    const put = await w.store.put(w.service.prepare({ ...message, body: new TextEncoder().encode(`${i}${big}`) }, properties), false);
    const half = { queueOffset: put.queueOffset, commitLogOffset: put.physicalOffset };
    halves.push(half);
    expect((await end(half))?.code).toBe(ResponseCode.SUCCESS);
  }
  expect(w.service.settledCount).toBe(12);
  const cleaned = w.store.clean(Date.now() + 100 * 24 * 3600 * 1000, true); // every segment but the active one is old now
  expect(cleaned.commitLogFiles).toBeGreaterThan(0);
  const minOffset = w.store.minOffset(halfTopic, 0);
  expect(minOffset).toBeGreaterThan(0);
  await w.service.check();
  expect(w.service.settledCount).toBe(12 - minOffset);
  expect((await end(halves[0]!))?.code).toBe(ResponseCode.SYSTEM_ERROR); // the record is gone: nothing committed again
  expect((await end(halves[11]!))?.code).toBe(ResponseCode.SUCCESS); // still known settled: no second copy
  const orders = w.store.get("Orders", 2, w.store.minOffset("Orders", 2), 100, () => true).records.map((record) => new TextDecoder().decode(decodeRecord(record).body));
  expect(orders.filter((body) => body.startsWith("11x")).length).toBe(1);
  await w.store.shutdown();
});

/**
 * TransactionProducer (src/client/transaction_producer.ts): transactional sends, as RocketMQ's
 * TransactionMQProducer (4.x half messages, protocol reference §9).
 *
 * Guarantees:
 * - sendMessageInTransaction(message, arg) sends a half message (TRAN_MSG=true, PGROUP, sysFlag
 *   PREPARED; invisible to consumers), then runs executeLocalTransaction(message, arg) once and
 *   tells the broker the outcome with END_TRANSACTION (37, oneway): COMMIT_MESSAGE makes the
 *   message visible, ROLLBACK_MESSAGE discards it, UNKNOW leaves it to the broker's check-back.
 *   A listener that throws counts as UNKNOW. A half message the broker refused rejects the call
 *   before the local transaction runs (as Java does), so nothing is half-done.
 * - When a broker sends CHECK_TRANSACTION_STATE (39) for a half message of this producer group,
 *   checkLocalTransaction(message) is called and its answer goes back as END_TRANSACTION with
 *   fromTransactionCheck=true, on the connection the check came on. UNKNOW answers nothing: the
 *   broker checks again later, up to its transactionCheckMax.
 * - Everything Producer guarantees for plain sends holds; delay levels are not allowed on
 *   transactional messages (Java clears them; here they are refused).
 * Requires: start() before sending; shutdown() once at the end.
 */
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newRequest, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { Property } from "../protocol/message_properties.ts";
import { parseOffsetMessageId } from "../protocol/message_record.ts";
import { MQClientError } from "./errors.ts";
import { decodePulledMessages, type Message, type ReceivedMessage, type SendResult } from "./message.ts";
import { Producer, type ProducerOptions } from "./producer.ts";

const log = logScoped("client");

export type LocalTransactionState = "COMMIT_MESSAGE" | "ROLLBACK_MESSAGE" | "UNKNOW";

/** END_TRANSACTION commitOrRollback: the sysFlag transaction type of each state. */
const endTypeOf: Record<LocalTransactionState, number> = { UNKNOW: 0, COMMIT_MESSAGE: 8, ROLLBACK_MESSAGE: 12 };

export interface TransactionListener {
  /** Runs the local transaction after the half message was stored. */
  executeLocalTransaction(message: Message, arg: unknown): Promise<LocalTransactionState> | LocalTransactionState;
  /** The broker asks how a transaction ended (it got UNKNOW, or no answer at all). */
  checkLocalTransaction(message: ReceivedMessage): Promise<LocalTransactionState> | LocalTransactionState;
}

export interface TransactionSendResult extends SendResult {
  localTransactionState: LocalTransactionState;
  /** The message's client id (UNIQ_KEY), as Java's transactionId. */
  transactionId: string;
}

export class TransactionProducer extends Producer {
  private readonly producerGroup: string;
  /** CHECK_TRANSACTION_STATE requests answered (any state, UNKNOW included). */
  checksAnswered = 0;

  constructor(
    options: ProducerOptions,
    private readonly listener: TransactionListener,
  ) {
    super(options);
    this.producerGroup = options.producerGroup;
  }

  async sendMessageInTransaction(message: Message, arg?: unknown): Promise<TransactionSendResult> {
    if ((message.delayTimeLevel ?? 0) > 0) throw new MQClientError("delayTimeLevel is not supported for transactional messages");
    const prepared: Message = {
      ...message,
      properties: { ...message.properties, [Property.TRAN_MSG]: "true", [Property.PGROUP]: this.producerGroup },
    };
    const result = await this.send(prepared);
    let state: LocalTransactionState = "ROLLBACK_MESSAGE";
    if (result.sendStatus === "SEND_OK") {
      try {
        state = await this.listener.executeLocalTransaction(message, arg);
      } catch (error) {
        log.warn("transaction.execute_threw", { msgId: result.msgId, error: String(error) });
        state = "UNKNOW";
      }
    }
    this.endTransaction(result, state);
    return { ...result, localTransactionState: state, transactionId: result.msgId };
  }

  /** END_TRANSACTION (oneway) for a half message just sent; failures are logged, the check-back covers them. */
  private endTransaction(result: SendResult, state: LocalTransactionState): void {
    const instance = this.started();
    let addr: string;
    let commitLogOffset: number;
    try {
      addr = instance.masterAddr(result.messageQueue.brokerName);
      commitLogOffset = parseOffsetMessageId(result.offsetMsgId).commitLogOffset;
    } catch (error) {
      log.warn("transaction.end_failed", { msgId: result.msgId, error: String(error) });
      return;
    }
    const request = newRequest(RequestCode.END_TRANSACTION, {
      producerGroup: this.producerGroup,
      tranStateTableOffset: String(result.queueOffset),
      commitLogOffset: String(commitLogOffset),
      commitOrRollback: String(endTypeOf[state]),
      fromTransactionCheck: "false",
      msgId: result.msgId,
      transactionId: result.msgId,
    });
    instance.remoting.invokeOneway(addr, request).catch((error: unknown) => log.warn("transaction.end_failed", { addr, error: String(error) }));
  }

  protected override onRequest(connection: Connection, request: RemotingCommand): RemotingCommand | null {
    if (request.code !== RequestCode.CHECK_TRANSACTION_STATE) return super.onRequest(connection, request);
    void this.answerCheck(connection, request);
    return null; // oneway
  }

  private async answerCheck(connection: Connection, request: RemotingCommand): Promise<void> {
    const ext = request.extFields;
    let message: ReceivedMessage | undefined;
    try {
      message = request.body ? decodePulledMessages(request.body, "")[0] : undefined;
    } catch (error) {
      log.warn("transaction.check_bad_body", { error: String(error) });
      return;
    }
    if (!message || message.propertyMap[Property.PGROUP] !== this.producerGroup) return;
    let state: LocalTransactionState;
    try {
      state = await this.listener.checkLocalTransaction(message);
    } catch (error) {
      log.warn("transaction.check_threw", { msgId: message.msgId, error: String(error) });
      state = "UNKNOW";
    }
    this.checksAnswered++;
    if (state === "UNKNOW" || connection.closed) return;
    const transactionId = ext["transactionId"] ?? message.msgId;
    connection.invokeOneway(
      newRequest(RequestCode.END_TRANSACTION, {
        producerGroup: this.producerGroup,
        tranStateTableOffset: ext["tranStateTableOffset"] ?? String(message.queueOffset),
        commitLogOffset: ext["commitLogOffset"] ?? String(message.commitLogOffset),
        commitOrRollback: String(endTypeOf[state]),
        fromTransactionCheck: "true",
        msgId: message.msgId,
        transactionId,
      }),
    );
  }
}

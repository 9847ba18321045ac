// The logical remoting command: what a frame's header and body mean, independent of the header codec.
// Fields are those of RocketMQ's RemotingCommand (see ../../shared/reference/rocketmq-protocol.md §1.2).

export const SerializeType = { JSON: 0, ROCKETMQ: 1 } as const;
export type SerializeType = (typeof SerializeType)[keyof typeof SerializeType];

export const flagResponse = 1 << 0; // RPC_TYPE: this command answers a request
export const flagOneway = 1 << 1; // RPC_ONEWAY: no answer will be sent

/** MQVersion.Version ordinal we announce: V4_9_4 (any value is accepted by clients). */
export const serverVersion = 401;

export interface RemotingCommand {
  code: number;
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark: string | null;
  /** The "custom header". Values are always strings here; decoders coerce numbers and booleans. */
  extFields: Record<string, string>;
  body: Uint8Array | null;
  serializeType: SerializeType;
  /**
   * Bytes of `body.buffer` right before `body` that are free: encodeFrame writes the frame's length
   * word and header there instead of copying the body into a new frame (pull answers, whose body
   * is built for it). Absent: nothing before the body may be touched.
   */
  bodyHeadroom?: number;
}

let nextOpaque = 1;

export function newRequest(
  code: number,
  extFields: Record<string, string> = {},
  body: Uint8Array | null = null,
): RemotingCommand {
  const opaque = nextOpaque;
  nextOpaque = nextOpaque >= 0x7ffffff0 ? 1 : nextOpaque + 1;
  return { code, language: "JAVA", version: serverVersion, opaque, flag: 0, remark: null, extFields, body, serializeType: SerializeType.JSON };
}

/** A response to `request`: same opaque, the response flag, and the codec the request used. */
export function newResponse(
  request: RemotingCommand,
  code: number,
  remark: string | null = null,
  extFields: Record<string, string> = {},
  body: Uint8Array | null = null,
): RemotingCommand {
  return {
    code,
    language: "JAVA",
    version: serverVersion,
    opaque: request.opaque,
    flag: flagResponse,
    remark,
    extFields,
    body,
    serializeType: request.serializeType,
  };
}

export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & flagResponse) !== 0;
}
export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & flagOneway) !== 0;
}

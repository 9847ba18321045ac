// Errors the client SDK throws. Expected broker answers that are not failures (PULL_NOT_FOUND,
// QUERY_NOT_FOUND, …) are statuses, never errors; these are for what the caller must handle.

/** The client could not do what was asked: bad argument, not started, no route, timed out, … */
export class MQClientError extends Error {
  override name = "MQClientError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A broker or name server answered with a response code the call cannot accept. */
export class MQBrokerError extends Error {
  override name = "MQBrokerError";
  constructor(
    /** The ResponseCode the server answered with. */
    readonly code: number,
    /** The server's remark, "" when it sent none. */
    readonly remark: string,
    /** The address that answered. */
    readonly address: string,
  ) {
    super(`CODE: ${code} DESC: ${remark} (from ${address})`);
  }
}

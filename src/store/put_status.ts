// Outcomes of the put and get paths: plain results, mapped to wire codes in one place by the broker.
export const PutStatus = {
  OK: "PUT_OK",
  FLUSH_DISK_TIMEOUT: "FLUSH_DISK_TIMEOUT",
  MESSAGE_ILLEGAL: "MESSAGE_ILLEGAL",
  PROPERTIES_SIZE_EXCEEDED: "PROPERTIES_SIZE_EXCEEDED",
  SERVICE_NOT_AVAILABLE: "SERVICE_NOT_AVAILABLE",
} as const;
export type PutStatus = (typeof PutStatus)[keyof typeof PutStatus];

export const GetStatus = {
  FOUND: "FOUND",
  NO_MATCHED_MESSAGE: "NO_MATCHED_MESSAGE",
  NO_MESSAGE_IN_QUEUE: "NO_MESSAGE_IN_QUEUE",
  OFFSET_TOO_SMALL: "OFFSET_TOO_SMALL",
  OFFSET_OVERFLOW_ONE: "OFFSET_OVERFLOW_ONE",
  OFFSET_OVERFLOW_BADLY: "OFFSET_OVERFLOW_BADLY",
  NO_MATCHED_LOGIC_QUEUE: "NO_MATCHED_LOGIC_QUEUE",
} as const;
export type GetStatus = (typeof GetStatus)[keyof typeof GetStatus];

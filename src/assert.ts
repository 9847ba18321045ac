// Assertions are always on. A failed assertion is a bug in Bolide, never bad input:
// bad input gets a RocketMQ response code, not an assertion.
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

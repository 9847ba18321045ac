// Structured, quiet logging: one JSON line per event on stderr, a stable event name and flat fields.
// Info is for what an operator cares about (listening, registered, file rolled), never per message.
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold = levelRank.warn;
let clockMs: () => number = () => Date.now();

export function setLogLevel(level: LogLevel): void {
  threshold = levelRank[level];
}
export function setLogClock(clock: () => number): void {
  clockMs = clock;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  /** At most one line per `intervalMs` for this event: for warnings on hot paths. */
  warnEvery(intervalMs: number, event: string, fields?: Record<string, unknown>): void;
}

export function logScoped(scope: string): Logger {
  const lastWarnMs = new Map<string, number>();
  const write = (level: LogLevel, event: string, fields?: Record<string, unknown>): void => {
    if (levelRank[level] < threshold) return;
    const line = JSON.stringify({ ts: clockMs(), level, scope, event, ...fields });
    process.stderr.write(line + "\n");
  };
  return {
    debug: (event, fields) => write("debug", event, fields),
    info: (event, fields) => write("info", event, fields),
    warn: (event, fields) => write("warn", event, fields),
    error: (event, fields) => write("error", event, fields),
    warnEvery(intervalMs, event, fields) {
      const now = clockMs();
      const last = lastWarnMs.get(event) ?? -Infinity;
      if (now - last < intervalMs) return;
      lastWarnMs.set(event, now);
      write("warn", event, fields);
    },
  };
}

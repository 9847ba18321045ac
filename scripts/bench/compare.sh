#!/usr/bin/env bash
# Side-by-side produce/consume benchmark: Bolide (dist/bolide) and Apache RocketMQ 4.9.7 (from
# Maven Central, via scripts/peer/rocketmq.sh), driven by the same client in the same run.
#   bash scripts/bench/compare.sh [messages] [inflight]
# Each broker gets a warm-up pass (JIT, page cache), then a measured pass; prints both JSON lines
# and the ratios Bolide / RocketMQ.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MESSAGES="${1:-200000}"
INFLIGHT="${2:-256}"
BUN="$ROOT/node_modules/.bin/bun"
[ -x dist/bolide ] || npm run -s build
WORK="$(mktemp -d)"
BOLIDE_PID=""
cleanup() {
  [ -n "$BOLIDE_PID" ] && kill "$BOLIDE_PID" 2>/dev/null || true
  bash scripts/peer/rocketmq.sh stop "$WORK/rmq" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

run() { # label namesrv
  "$BUN" scripts/bench/throughput.ts --namesrv "$2" --messages $((MESSAGES / 4)) --inflight "$INFLIGHT" --label "$1-warmup" >/dev/null
  "$BUN" scripts/bench/throughput.ts --namesrv "$2" --messages "$MESSAGES" --inflight "$INFLIGHT" --label "$1"
}

./dist/bolide --data-dir "$WORK/bolide" --namesrv-port 39876 --broker-port 40911 --broker-ip 127.0.0.1 --listen-host 127.0.0.1 --http-port 0 >"$WORK/bolide.log" 2>&1 &
BOLIDE_PID=$!
sleep 1
bolide=$(run bolide 127.0.0.1:39876)
kill "$BOLIDE_PID"; wait "$BOLIDE_PID" 2>/dev/null || true; BOLIDE_PID=""

bash scripts/peer/rocketmq.sh start 49876 50911 "$WORK/rmq" >/dev/null
rocketmq=$(run rocketmq 127.0.0.1:49876)

echo "$bolide"
echo "$rocketmq"
node -e '
const [b, r] = process.argv.slice(1).map((line) => JSON.parse(line));
const ratio = (x, y) => (y > 0 ? (x / y).toFixed(2) : "n/a");
console.log(`bolide/rocketmq: produce ${ratio(b.produceMsgPerSec, r.produceMsgPerSec)}x, consume ${ratio(b.consumeMsgPerSec, r.consumeMsgPerSec)}x, send p99 latency ${ratio(b.sendLatencyMs.p99, r.sendLatencyMs.p99)}x`);
' "$bolide" "$rocketmq"

#!/usr/bin/env bash
# Java compatibility suite: drives a broker with the official Apache RocketMQ Java client
# (test/compat/java, rocketmq-client 4.9.8) and prints one PASS/FAIL line per scenario,
# ending with "N passed, N failed". Exit status is non-zero if any scenario failed.
#
# Environment:
#   COMPAT_TARGET=bolide|rocketmq  what to test (default bolide: dist/bolide, built if absent;
#                                  rocketmq: real Apache RocketMQ via scripts/peer/rocketmq.sh)
#   COMPAT_SCENARIOS="sync tags"   scenarios to run (default "all" = the core set: sync async oneway
#                                  pubsub clustering broadcasting tags litepull batch delay retry dlq sql92
#                                  resume order transaction transaction_check query acl; "extended" = none yet; "full" = both;
#                                  `acl` runs against a target started with ACL on and
#                                  test/compat/plain_acl.yml (Bolide: --acl-enable true --acl-file;
#                                  RocketMQ: aclEnable=true and the file as conf/plain_acl.yml); the
#                                  others against one without; the target is restarted when that changes.
#                                  tls runs against a second Bolide started with --tls-mode enforcing
#                                  and a certificate made by openssl, and is skipped for other targets)
#   COMPAT_TIMEOUT=45              seconds per scenario (a healthy broker needs < 10 s each)
#   COMPAT_BUDGET=330              seconds for all scenarios together; scenarios that would start
#                                  after it is spent are reported as FAIL (keeps a hung broker from
#                                  stretching the suite past ~6 minutes)
#   COMPAT_NAMESRV=host:port       use an already running name server; start nothing
#   BOLIDE_BIN=path                binary to test (default dist/bolide)
#   COMPAT_KEEP_LOGS=1             keep the log directory even when everything passed
#   COMPAT_JAVA_OPTS="-Dx=y"       extra JVM options for the scenario JVMs (e.g. -Dcompat.churn.messages=10000)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JAVA_DIR="$ROOT/test/compat/java"
JAR="$JAVA_DIR/target/compat.jar"
TARGET="${COMPAT_TARGET:-bolide}"
TIMEOUT="${COMPAT_TIMEOUT:-45}"
BUDGET="${COMPAT_BUDGET:-330}"
CORE_SCENARIOS="sync async oneway pubsub clustering broadcasting tags litepull batch delay retry dlq sql92 resume order transaction transaction_check query acl tls"
EXTENDED_SCENARIOS=""
SCENARIOS=""
for s in ${COMPAT_SCENARIOS:-all}; do
  case "$s" in
    all) SCENARIOS="$SCENARIOS $CORE_SCENARIOS" ;;
    extended) SCENARIOS="$SCENARIOS $EXTENDED_SCENARIOS" ;;
    full) SCENARIOS="$SCENARIOS $CORE_SCENARIOS $EXTENDED_SCENARIOS" ;;
    *) SCENARIOS="$SCENARIOS $s" ;;
  esac
done
SCENARIOS="${SCENARIOS# }"
BOLIDE="${BOLIDE_BIN:-$ROOT/dist/bolide}"
ACL_FILE="$ROOT/test/compat/plain_acl.yml"
MODE=plain # plain | acl: how the running target was started

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bolide-compat.XXXXXX")"
SERVER_PID=""
TLS_PID=""
PEER_DIR=""
passed=0
failed=0

log() { echo "[compat] $*" >&2; }

cleanup() {
  local rc=$?
  stop_target
  if [[ $failed -eq 0 && $rc -eq 0 && -z "${COMPAT_KEEP_LOGS:-}" ]]; then
    rm -rf "$WORK"
  else
    log "logs kept in $WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints "<namesrvPort> <brokerPort>" such that namesrvPort and brokerPort-2..brokerPort+1
# are free (real RocketMQ also binds brokerPort-2 and brokerPort+1). Picked below the kernel's
# ephemeral range, as scripts/lib/ports.ts does: a port from that range can become the source
# port of any outgoing connection before the broker listens on it.
free_ports() {
  python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
low = low if low > 12000 else 32768
for _ in range(500):
    ns = random.randrange(10000, low)
    br = random.randrange(10002, low - 2)
    if abs(ns - br) > 2 and free(ns) and all(free(p) for p in range(br - 2, br + 2)):
        print(ns, br); break
else:
    raise SystemExit("no free ports found")
EOF
}

build_java() {
  if [[ -f "$JAR" ]] && [[ -z "$(find "$JAVA_DIR/src" "$JAVA_DIR/pom.xml" -newer "$JAR" -print -quit)" ]]; then
    return 0
  fi
  log "building Java compat client (mvn package)"
  if ! (cd "$JAVA_DIR" && mvn -o -q -B package >"$WORK/mvn.log" 2>&1); then
    (cd "$JAVA_DIR" && mvn -q -B package >"$WORK/mvn.log" 2>&1) || { cat "$WORK/mvn.log" >&2; return 1; }
  fi
}

start_target() {
  local ports ns br
  if [[ -n "${COMPAT_NAMESRV:-}" ]]; then
    NAMESRV="$COMPAT_NAMESRV"
    return 0
  fi
  ports="$(free_ports)" || return 1
  read -r ns br <<<"$ports"
  NAMESRV="127.0.0.1:$ns"
  case "$TARGET" in
    rocketmq)
      PEER_DIR="$WORK/rocketmq-$MODE-$ns"
      if [[ $MODE == acl ]]; then
        ROCKETMQ_PEER_ACL_FILE="$ACL_FILE" "$ROOT/scripts/peer/rocketmq.sh" start "$ns" "$br" "$PEER_DIR" >&2 || return 1
      else
        "$ROOT/scripts/peer/rocketmq.sh" start "$ns" "$br" "$PEER_DIR" >&2 || return 1
      fi
      ;;
    bolide)
      local data="$WORK/bolide-data-$ns"
      local acl=()
      [[ $MODE == acl ]] && acl=(--acl-enable true --acl-file "$ACL_FILE")
      mkdir -p "$data"
      # Short transaction timings so that check-back scenarios finish in seconds (same in the peer's conf).
      printf 'transactionTimeOut=1000\ntransactionCheckInterval=1000\ntransactionCheckMax=3\n' >"$WORK/broker.conf"
      "$BOLIDE" --role all -c "$WORK/broker.conf" --data-dir "$data" --namesrv-port "$ns" --broker-port "$br" \
        --broker-ip 127.0.0.1 --listen-host 127.0.0.1 --http-port 0 "${acl[@]}" >>"$WORK/bolide.log" 2>&1 </dev/null &
      SERVER_PID=$!
      local i
      for i in $(seq 1 120); do
        if port_listening "$ns" && port_listening "$br"; then
          log "bolide pid $SERVER_PID up ($MODE): namesrv $NAMESRV, broker 127.0.0.1:$br"
          return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
          log "bolide exited during startup; last log lines:"; tail -n 20 "$WORK/bolide.log" >&2
          SERVER_PID=""
          return 1
        fi
        sleep 0.25
      done
      log "bolide did not listen on $ns/$br within 30 s"
      return 1
      ;;
    *) log "unknown COMPAT_TARGET=$TARGET (bolide|rocketmq)"; return 1 ;;
  esac
}

target_alive() {
  [[ -n "${COMPAT_NAMESRV:-}" ]] && return 0
  case "$TARGET" in
    rocketmq) kill -0 "$(cat "$PEER_DIR/broker.pid" 2>/dev/null)" 2>/dev/null \
                && kill -0 "$(cat "$PEER_DIR/namesrv.pid" 2>/dev/null)" 2>/dev/null ;;
    *) [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null ;;
  esac
}

# A Bolide with --tls-mode enforcing (both ports) for the tls scenario; sets TLS_NAMESRV.
start_tls_target() {
  local ports ns br dir="$WORK/tls"
  mkdir -p "$dir/data"
  if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
      -subj /CN=localhost >"$dir/openssl.log" 2>&1; then
    log "openssl could not make a test certificate"; cat "$dir/openssl.log" >&2; return 1
  fi
  ports="$(free_ports)" || return 1
  read -r ns br <<<"$ports"
  TLS_NAMESRV="127.0.0.1:$ns"
  "$BOLIDE" --role all --data-dir "$dir/data" --namesrv-port "$ns" --broker-port "$br" \
    --broker-ip 127.0.0.1 --listen-host 127.0.0.1 --http-port 0 \
    --tls-mode enforcing --tls-cert-path "$dir/cert.pem" --tls-key-path "$dir/key.pem" >>"$WORK/bolide-tls.log" 2>&1 </dev/null &
  TLS_PID=$!
  local i
  for i in $(seq 1 120); do
    if grep -q "bolide broker listening" "$WORK/bolide-tls.log"; then
      log "TLS bolide pid $TLS_PID up: namesrv $TLS_NAMESRV, broker 127.0.0.1:$br (enforcing)"
      return 0
    fi
    if ! kill -0 "$TLS_PID" 2>/dev/null; then
      log "TLS bolide exited during startup:"; tail -n 20 "$WORK/bolide-tls.log" >&2; TLS_PID=""; return 1
    fi
    sleep 0.25
  done
  log "TLS bolide did not start within 30 s"
  return 1
}

stop_tls_target() {
  [[ -z "$TLS_PID" ]] && return 0
  kill -TERM "$TLS_PID" 2>/dev/null
  local i
  for i in $(seq 1 40); do kill -0 "$TLS_PID" 2>/dev/null || break; sleep 0.25; done
  kill -KILL "$TLS_PID" 2>/dev/null
  wait "$TLS_PID" 2>/dev/null
  TLS_PID=""
}

stop_target() {
  stop_tls_target
  if [[ -n "$SERVER_PID" ]]; then
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      kill -TERM "$SERVER_PID" 2>/dev/null
      local i
      for i in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.25; done
      if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "bolide did not exit within 10 s of SIGTERM; killing"
        kill -KILL "$SERVER_PID" 2>/dev/null
      fi
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
  if [[ -n "$PEER_DIR" ]]; then
    "$ROOT/scripts/peer/rocketmq.sh" stop "$PEER_DIR" >&2
    PEER_DIR=""
  fi
}

fail_all() { # reason
  local s
  for s in $SCENARIOS; do
    echo "FAIL $s: $1"
    failed=$((failed + 1))
  done
}

finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}

# The target a scenario needs: acl (ACL on, plain_acl.yml) or plain.
mode_of() { if [[ $1 == acl ]]; then echo acl; else echo plain; fi; }

# ------------------------------------------------------------------ main
START=$SECONDS
if ! build_java; then
  fail_all "could not build the Java compat client (see mvn output above)"
  finish
fi

if [[ "$TARGET" == bolide && -z "${COMPAT_NAMESRV:-}" && ! -x "$BOLIDE" ]]; then
  log "building bolide (npm run -s build)"
  if ! (cd "$ROOT" && npm run -s build) >"$WORK/build.log" 2>&1 || [[ ! -x "$BOLIDE" ]]; then
    tail -n 30 "$WORK/build.log" >&2
    fail_all "could not build $BOLIDE"
    finish
  fi
fi

NEED_MAIN=""
MODE=""
for s in $SCENARIOS; do
  if [[ "$s" != tls ]]; then NEED_MAIN=1; [[ -z "$MODE" ]] && MODE="$(mode_of "$s")"; fi
done
MODE="${MODE:-plain}"
if [[ -n "$NEED_MAIN" ]] && ! start_target; then
  fail_all "could not start $TARGET"
  finish
fi
log "target ${COMPAT_NAMESRV:+external }$TARGET, name server ${NAMESRV:-none}, scenarios: $SCENARIOS"

JAVA_OPTS=(-Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dcompat.tmp="$WORK/java" -Dcompat.target="$TARGET" ${COMPAT_JAVA_OPTS:-})
SUITE_START=$SECONDS
for s in $SCENARIOS; do
  left=$((BUDGET - (SECONDS - SUITE_START)))
  if (( left < 15 )); then
    echo "FAIL $s: not run, the suite's time budget (${BUDGET} s) is spent"
    failed=$((failed + 1))
    continue
  fi
  # leave room for client shutdown (up to 15 s) inside the budget
  t=$TIMEOUT
  if (( t > left - 15 )); then t=$((left - 15)); fi
  if (( t < 10 )); then t=10; fi
  if [[ "$s" == tls ]]; then
    if [[ "$TARGET" != bolide || -n "${COMPAT_NAMESRV:-}" ]]; then
      echo "SKIP tls: needs a Bolide this script starts with --tls-mode enforcing"
      continue
    fi
    if ! start_tls_target; then
      echo "FAIL tls: could not start a Bolide with --tls-mode enforcing"
      failed=$((failed + 1))
      continue
    fi
    SCENARIO_NAMESRV="$TLS_NAMESRV"
  else
    if [[ -z "${COMPAT_NAMESRV:-}" && "$(mode_of "$s")" != "$MODE" ]]; then
      stop_target
      MODE="$(mode_of "$s")"
      log "restarting $TARGET for scenario $s (ACL $([[ $MODE == acl ]] && echo on || echo off))"
      if ! start_target; then
        echo "FAIL $s: could not start $TARGET (mode $MODE)"
        failed=$((failed + 1))
        continue
      fi
    fi
    SCENARIO_NAMESRV="$NAMESRV"
  fi
  if [[ "$s" != tls ]] && ! target_alive; then
    log "$TARGET is not running any more (crashed during the previous scenario?); restarting it"
    [[ "$TARGET" == bolide ]] && { log "last bolide log lines:"; tail -n 20 "$WORK/bolide.log" >&2; }
    stop_target
    if ! start_target; then
      echo "FAIL $s: $TARGET is down and could not be restarted"
      failed=$((failed + 1))
      continue
    fi
  fi
  out="$WORK/$s.out"
  err="$WORK/$s.err"
  timeout -k 5 "$((t + 30))" java "${JAVA_OPTS[@]}" -Dcompat.timeout="$t" -jar "$JAR" "$SCENARIO_NAMESRV" "$s" >"$out" 2>"$err"
  rc=$?
  [[ "$s" == tls ]] && stop_tls_target
  line="$(grep -E "^(PASS|FAIL) $s" "$out" | tail -n 1)"
  if [[ $rc -eq 0 && "$line" == PASS* ]]; then
    echo "$line"
    passed=$((passed + 1))
  else
    if [[ -z "$line" ]]; then
      if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        line="FAIL $s: the Java client did not finish within $((t + 30)) s"
      else
        line="FAIL $s: java exited with status $rc: $(grep -v '^\[compat' "$err" | tail -n 3 | tr '\n' ' ')"
      fi
    elif [[ "$line" == PASS* ]]; then
      line="FAIL $s: java exited with status $rc after: $line"
    fi
    echo "$line"
    failed=$((failed + 1))
  fi
done
log "finished in $((SECONDS - START)) s (java logs in $WORK/*.err, client logs in $WORK/java/logs)"
finish

#!/usr/bin/env bash
# Start/stop a real Apache RocketMQ 4.x name server + broker as a reference peer.
#
#   scripts/peer/rocketmq.sh start <namesrvPort> <brokerPort> <dataDir>
#   scripts/peer/rocketmq.sh stop  <dataDir>
#   scripts/peer/rocketmq.sh classpath          # print the resolved Java classpath
#
# The broker also listens on brokerPort-2 (fastListenPort / "VIP channel") and
# brokerPort+1 (haListenPort); both are derived from listenPort by RocketMQ and
# cannot be changed, so keep brokerPort-2 .. brokerPort+1 free.
# Everything (store, logs, ROCKETMQ_HOME, user.home) lives under <dataDir>.
# Env: ROCKETMQ_PEER_JAVA_OPTS (default "-Xms256m -Xmx512m"),
#      ROCKETMQ_PEER_FLUSH (flushDiskType: ASYNC_FLUSH, the default, or SYNC_FLUSH),
#      ROCKETMQ_PEER_START_TIMEOUT (seconds, default 90),
#      ROCKETMQ_PEER_ACL_FILE (a plain_acl.yml: the broker runs with aclEnable=true and this file
#      as ROCKETMQ_HOME/conf/plain_acl.yml),
#      ROCKETMQ_PEER_BROKER_CONF (key=value lines appended to broker.conf; a later key wins, as in
#      java.util.Properties: the benchmark's retention workload sets the commit-log file size).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CP_FILE="$HERE/target/classpath.txt"

die() { echo "rocketmq.sh: $*" >&2; exit 1; }

resolve_classpath() {
  if [[ ! -s "$CP_FILE" || "$HERE/pom.xml" -nt "$CP_FILE" ]]; then
    mkdir -p "$HERE/target"
    local log="$HERE/target/mvn.log"
    # try offline first (fast, works once the local repo is warm), then online
    if ! mvn -o -q -B -f "$HERE/pom.xml" dependency:build-classpath \
         -Dmdep.outputFile="$CP_FILE" >"$log" 2>&1; then
      mvn -q -B -f "$HERE/pom.xml" dependency:build-classpath \
        -Dmdep.outputFile="$CP_FILE" >"$log" 2>&1 \
        || { cat "$log" >&2; die "maven could not resolve the RocketMQ classpath"; }
    fi
  fi
  cat "$CP_FILE"
}

port_listening() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_logback() { # file logname
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>\${user.home}/logs/$2.log</file>
    <append>true</append>
    <encoder><pattern>%d{yyy-MM-dd HH:mm:ss,SSS} %p %t - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

stop_pid() { # pidfile
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if pid_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do pid_alive "$pid" || break; sleep 0.25; done
    if pid_alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

cmd_start() {
  [[ $# -eq 3 ]] || die "usage: rocketmq.sh start <namesrvPort> <brokerPort> <dataDir>"
  local nsPort="$1" brPort="$2" dataDir="$3"
  mkdir -p "$dataDir"
  dataDir="$(cd "$dataDir" && pwd)"
  local home="$dataDir/home"
  mkdir -p "$home/conf" "$home/logs" "$dataDir/store/commitlog"

  for p in "$nsPort" "$brPort" "$((brPort - 2))" "$((brPort + 1))"; do
    if port_listening "$p"; then die "port $p is already in use"; fi
  done

  local cp; cp="$(resolve_classpath)"
  write_logback "$home/conf/logback_namesrv.xml" namesrv
  write_logback "$home/conf/logback_broker.xml" broker

  cat >"$home/conf/namesrv.conf" <<EOF
listenPort=$nsPort
kvConfigPath=$home/namesrv/kvConfig.json
configStorePath=$home/namesrv/namesrv.properties
EOF
  cat >"$home/conf/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
namesrvAddr=127.0.0.1:$nsPort
listenPort=$brPort
storePathRootDir=$dataDir/store
storePathCommitLog=$dataDir/store/commitlog
autoCreateTopicEnable=true
enablePropertyFilter=true
autoCreateSubscriptionGroup=true
brokerRole=ASYNC_MASTER
flushDiskType=${ROCKETMQ_PEER_FLUSH:-ASYNC_FLUSH}
deleteWhen=04
fileReservedTime=48
mappedFileSizeCommitLog=134217728
diskMaxUsedSpaceRatio=95
transactionTimeOut=1000
transactionCheckInterval=1000
transactionCheckMax=3
EOF
  if [[ -n "${ROCKETMQ_PEER_ACL_FILE:-}" ]]; then
    cp "$ROCKETMQ_PEER_ACL_FILE" "$home/conf/plain_acl.yml"
    echo "aclEnable=true" >>"$home/conf/broker.conf"
  fi
  if [[ -n "${ROCKETMQ_PEER_BROKER_CONF:-}" ]]; then
    printf '%s\n' "$ROCKETMQ_PEER_BROKER_CONF" >>"$home/conf/broker.conf"
  fi

  local javaOpts="${ROCKETMQ_PEER_JAVA_OPTS:--Xms256m -Xmx512m}"
  # JDK 9+ needs these for RocketMQ 4.x's reflective DirectByteBuffer cleanup.
  local opens="--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED"
  local common="-server $javaOpts -XX:MaxDirectMemorySize=512m $opens -Duser.home=$home -Drocketmq.home.dir=$home -Drocketmq.client.logRoot=$home/logs -Drocketmq.client.logUseSlf4j=false -Djava.io.tmpdir=$dataDir"

  # shellcheck disable=SC2086
  ROCKETMQ_HOME="$home" nohup java $common -cp "$cp" org.apache.rocketmq.namesrv.NamesrvStartup \
    -c "$home/conf/namesrv.conf" >"$dataDir/namesrv.out" 2>&1 </dev/null &
  echo $! >"$dataDir/namesrv.pid"
  # shellcheck disable=SC2086
  ROCKETMQ_HOME="$home" nohup java $common -cp "$cp" org.apache.rocketmq.broker.BrokerStartup \
    -c "$home/conf/broker.conf" >"$dataDir/broker.out" 2>&1 </dev/null &
  echo $! >"$dataDir/broker.pid"

  local timeout="${ROCKETMQ_PEER_START_TIMEOUT:-90}" waited=0
  while :; do
    if port_listening "$nsPort" && port_listening "$brPort"; then break; fi
    if ! pid_alive "$(cat "$dataDir/namesrv.pid")"; then
      cat "$dataDir/namesrv.out" >&2; cmd_stop "$dataDir"; die "name server exited during startup"
    fi
    if ! pid_alive "$(cat "$dataDir/broker.pid")"; then
      cat "$dataDir/broker.out" >&2; cmd_stop "$dataDir"; die "broker exited during startup"
    fi
    if (( waited >= timeout * 4 )); then
      cmd_stop "$dataDir"; die "timed out after ${timeout}s waiting for ports $nsPort/$brPort"
    fi
    sleep 0.25; waited=$((waited + 1))
  done
  # The broker registers with the name server right after its port opens; give
  # it a moment so clients that query routes immediately find the broker.
  for _ in $(seq 1 40); do
    grep -q "boot success" "$dataDir/broker.out" 2>/dev/null && break
    sleep 0.25
  done
  echo "rocketmq peer up: namesrv 127.0.0.1:$nsPort broker 127.0.0.1:$brPort (data $dataDir)"
}

cmd_stop() {
  [[ $# -eq 1 ]] || die "usage: rocketmq.sh stop <dataDir>"
  local dataDir="$1"
  [[ -d "$dataDir" ]] || return 0
  # broker first so it can unregister from the still-running name server
  stop_pid "$dataDir/broker.pid"
  stop_pid "$dataDir/namesrv.pid"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  classpath) resolve_classpath ;;
  *) die "usage: rocketmq.sh start <namesrvPort> <brokerPort> <dataDir> | stop <dataDir> | classpath" ;;
esac

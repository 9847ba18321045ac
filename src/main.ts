// bolide: the name server, the broker, or both in one process (the default).
import { Broker } from "./broker/broker.ts";
import { parseCommandLine, usage, UsageError, type Config } from "./config.ts";
import { realIo } from "./io/io.ts";
import { logScoped, setLogLevel } from "./log.ts";
import { NameServer } from "./namesrv/namesrv.ts";
import { runAdmin } from "./cli/admin.ts";
import { runInstallService } from "./cli/install_service.ts";
import { sdNotify, SdNotifyStatus } from "./cli/sd_notify.ts";
import { versionLine } from "./build_info.ts";
import { Metrics } from "./ops/metrics.ts";
import { OpsHttpServer } from "./ops/http_server.ts";
import { DashboardApi } from "./ops/dashboard/api.ts";
import { ThroughputSampler } from "./ops/dashboard/throughput.ts";
import { AclValidator, newInternalAccount } from "./security/acl.ts";
import { AclConfigError, AclFile } from "./security/acl_config.ts";
import { RequestCode } from "./net/request_code.ts";
import { pullAnswerBytesMax } from "./net/frame_pool.ts";
import { MemoryGuard } from "./io/memory_guard.ts";
import { ensureRuntimeEnv } from "./io/runtime_env.ts";

const log = logScoped("main");
const shutdownMsMax = 4500;

/** Tells systemd (Type=notify units) how start-up and shutdown go; a no-op outside systemd. */
function notifySystemd(state: string): void {
  const status = sdNotify(state);
  if (status !== SdNotifyStatus.sent && status !== SdNotifyStatus.unset) log.warn("sd_notify.failed", { status, state });
}

function fail(message: string): never {
  process.stderr.write(`bolide: ${message}\n${usage}\n`);
  process.exit(2);
}

async function run(config: Config): Promise<void> {
  // A signal during start-up is held until the start completes, then stops cleanly.
  let startupSignal: string | null = null;
  const onStartupSignal = (signal: string) => (): void => {
    startupSignal ??= signal;
  };
  const startupTerm = onStartupSignal("SIGTERM");
  const startupInt = onStartupSignal("SIGINT");
  process.on("SIGTERM", startupTerm);
  process.on("SIGINT", startupInt);
  let namesrv: NameServer | null = null;
  let broker: Broker | null = null;
  // ACL: the file is read before anything listens; a file that does not parse stops the start.
  let aclFile: AclFile | null = null;
  let acl: AclValidator | null = null;
  // The name server in this process creates topics on lookup through the broker: it signs those
  // requests with an account only this process knows, allowed nothing but that.
  const internal = config.aclEnable && config.role === "all" ? newInternalAccount([RequestCode.UPDATE_AND_CREATE_TOPIC]) : null;
  if (config.aclEnable && config.role !== "namesrv") {
    aclFile = new AclFile(config.aclFile);
    try {
      aclFile.load();
    } catch (error) {
      if (error instanceof AclConfigError) fail(`--acl-file ${config.aclFile}: ${error.message}`);
      throw error;
    }
    const file = aclFile;
    acl = new AclValidator(() => file.rules, internal);
  }
  // The HTTP port first: if it is taken, fail before anything else listens.
  const metrics = new Metrics();
  const http = config.httpPort === 0 ? null : new OpsHttpServer(config.listenHost, config.httpPort, metrics);
  if (http) {
    const port = http.start();
    process.stdout.write(`bolide http listening on ${config.listenHost}:${port} (dashboard at /, /metrics, /healthz, /readyz)\n`);
  }
  const serverLimits = {
    connectionsMax: config.connectionsMax,
    connectionsPerAddressMax: config.connectionsPerAddressMax,
    requestsInFlightMax: config.requestsInFlightMax,
    idleTimeoutMs: config.channelIdleTimeoutSeconds * 1000,
    partialFrameTimeoutMs: config.partialFrameTimeoutMs,
  };
  const tls =
    config.tlsMode === "off"
      ? null
      : { mode: config.tlsMode, certPath: config.tlsCertPath!, keyPath: config.tlsKeyPath!, ...(config.tlsKeyPassword === null ? {} : { keyPassword: config.tlsKeyPassword }) };
  if (config.role !== "broker") {
    namesrv = new NameServer(
      {
        hostname: config.listenHost,
        port: config.namesrvPort,
        frameBytesMax: config.frameBytesMax,
        connectionSendBytesMax: config.connectionSendBytesMax,
        serverLimits,
        tls,
        tlsClient: config.tlsClient,
        brokerExpiryMs: 120_000,
        expiryScanIntervalMs: 10_000,
        defaultTopicQueueNums: config.defaultTopicQueueNums,
        ...(internal ? { brokerCredentials: internal.credentials } : {}),
      },
      realIo,
    );
    const port = namesrv.start();
    process.stdout.write(`bolide namesrv listening on ${config.listenHost}:${port}${tls ? ` (TLS ${tls.mode})` : ""}\n`);
  }
  if (config.role !== "namesrv") {
    broker = new Broker(
      {
        clusterName: config.clusterName,
        brokerName: config.brokerName,
        brokerId: config.brokerId,
        brokerRole: config.brokerRole,
        haPort: config.haPort,
        haMasterAddress: config.haMasterAddress,
        slaveFallBehindBytesMax: 256 * 1024 * 1024,
        slaveReadEnable: config.slaveReadEnable,
        accessMessageInMemoryMaxRatio: config.accessMessageInMemoryMaxRatio,
        brokerIp: config.brokerIp,
        hostname: config.listenHost,
        port: config.brokerPort,
        namesrvAddrs: config.namesrvAddrs,
        autoCreateTopicEnable: config.autoCreateTopicEnable,
        defaultTopicQueueNums: config.defaultTopicQueueNums,
        frameBytesMax: config.frameBytesMax,
        connectionSendBytesMax: config.connectionSendBytesMax,
        serverLimits,
        tls,
        tlsClient: config.tlsClient,
        heldPullsMax: config.heldPullsMax,
        registerIntervalMs: 30_000,
        channelExpiryMs: 120_000,
        offsetPersistIntervalMs: 5_000,
        pullHoldMsMax: 20_000,
        shutdownDrainMs: 2_000,
        messageDelayLevel: config.messageDelayLevel,
        maxReconsumeTimesDefault: 16,
        transaction: {
          transactionTimeOutMs: config.transactionTimeOutMs,
          transactionCheckIntervalMs: config.transactionCheckIntervalMs,
          transactionCheckMax: config.transactionCheckMax,
        },
        store: {
          dataDir: config.dataDir,
          commitLogFileBytes: config.commitLogFileBytes,
          consumeQueueEntriesPerFile: config.consumeQueueEntriesPerFile,
          messageBodyBytesMax: config.messageBodyBytesMax,
          flush: config.flush,
          flushIntervalMs: 500,
          syncFlushTimeoutMs: config.syncFlushTimeoutMs,
          pullBytesMax: pullAnswerBytesMax,
          fileReservedMs: config.fileReservedHours * 3_600_000,
          deleteWhen: config.deleteWhen,
          diskCleanRatio: config.diskMaxUsedRatio,
          diskFullRatio: config.diskFullRatio,
          diskCleanForciblyRatio: config.diskCleanForciblyRatio,
        },
        configFile: config.configFile,
      },
      realIo,
    );
    broker.attachMetrics(metrics, () => namesrv?.connectionCount ?? 0);
    broker.acl = acl;
    aclFile?.start();
    const port = await broker.start();
    if (broker.repl.master) process.stdout.write(`bolide ha listening on ${config.listenHost}:${broker.repl.haPort} (${config.brokerRole})\n`);
    process.stdout.write(`bolide broker listening on ${config.listenHost}:${port} (clients reach it at ${broker.brokerAddr}, ${config.brokerRole})${tls ? ` (TLS ${tls.mode})` : ""}\n`);
  }

  const throughput = new ThroughputSampler(metrics.totals, () => Date.now());
  if (http) {
    throughput.start();
    http.api = new DashboardApi({ role: config.role, version: versionLine(), broker, namesrv, throughput });
    http.ready = true;
  }
  new MemoryGuard().start();

  // Every role listens and the broker has registered (broker.start() awaits one round): ready.
  notifySystemd(`READY=1\nSTATUS=serving (role ${config.role})`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    notifySystemd(`STOPPING=1\nSTATUS=stopping (${signal})`);
    if (http) http.ready = false;
    log.info("shutdown", { signal });
    const force = setTimeout(() => {
      log.error("shutdown.timeout", { afterMs: shutdownMsMax });
      process.exit(1);
    }, shutdownMsMax);
    namesrv?.stopAccepting();
    try {
      await broker?.shutdown();
    } catch (error) {
      log.error("shutdown.failed", { error: String(error) });
    }
    namesrv?.stop();
    aclFile?.stop();
    http?.stop();
    throughput.stop();
    clearTimeout(force);
    process.exit(0);
  };
  process.off("SIGTERM", startupTerm);
  process.off("SIGINT", startupInt);
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  if (startupSignal !== null) void stop(startupSignal);
}

if (process.argv[2] === "install-service") {
  process.exit(runInstallService(process.argv.slice(3), (text) => process.stdout.write(`${text}\n`), (text) => process.stderr.write(`${text}\n`)));
}

if (process.argv[2] === "admin") {
  const code = await runAdmin(process.argv.slice(3), (text) => process.stdout.write(`${text}\n`), (text) => process.stderr.write(`${text}\n`));
  process.exit(code);
}

let parsed;
try {
  parsed = parseCommandLine(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) fail(error.message);
  throw error;
}
if (parsed.kind === "help") {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
} else if (parsed.kind === "version") {
  process.stdout.write(`${versionLine()}\n`);
  process.exit(0);
} else {
  setLogLevel(parsed.config.logLevel);
  // Before anything is logged or opened: may execute this process again (src/io/runtime_env.ts);
  // returns only if nothing was missing, or it could not be done.
  const notReexecuted = ensureRuntimeEnv();
  if (notReexecuted !== null) log.debug("runtime_env.not_set", { reason: notReexecuted });
  for (const warning of parsed.warnings) log.warn("config.unknown_key", { warning });
  run(parsed.config).catch((error: unknown) => {
    process.stderr.write(`bolide: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

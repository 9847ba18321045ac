// CI's smoke run of the benchmark suite (.ci/run): seconds, not minutes, so that the suite keeps
// working between the runs that produce figures. The figures themselves mean nothing here.
//
//   bun scripts/bench/smoke.ts        (needs dist/bolide: npm run -s build)
//
// Suite runs, results in a temp dir (the committed bench/results stay as they are):
//   1. --smoke --targets bolide: both flush modes have a figure for every smoke workload, no
//      workload error, and the JSON, Markdown table and chart were written;
//   2. --smoke --targets bolide-async,null,nosuch with BOLIDE_BENCH_BINARY=/bin/false: the broker
//      that fails to start and the unknown target each get their line in the table, and the null
//      broker after them still runs.
//   3. --smoke --targets null --workloads produce --broker-cpus 0 --client-cpus 1 (2 CPUs or more):
//      the broker is pinned to CPU 0 and the results say so.
// Prints one line per check and ends with "N passed, N failed" (the line .ci/run counts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { which } from "./lib/proc.ts";
import type { BenchResults } from "./lib/report.ts";

/** A smoke suite run takes 10–25 s on 2 busy cores (35 s when it first installs its clients); past this it is stuck. */
const suiteRunMsMax = 300_000;
/** Every bolide target must have these figures in a smoke run (the smoke mode's workloads). */
const bolideMetrics = [
  "coldStartMs", "idleRssMiB", "loadedRssMiB", "produce.msgPerSec", "produce.clientCpuPct", "producers1.msgPerSec", "producers1keys.msgPerSec",
  "producers64.msgPerSec", "producers64keys.msgPerSec", "latency1k.p50Ms", "latency1k.p99Ms", "consume.msgPerSec",
];
const nullMetrics = ["coldStartMs", "produce.msgPerSec", "producers1.msgPerSec", "producers64keys.msgPerSec", "latency1k.p99Ms", "consume.msgPerSec"];

const suite = join(import.meta.dir, "suite.ts");
let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ""): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? "ok" : "FAILED"}: bench smoke: ${name}${ok || !detail ? "" : ` (${detail})`}\n`);
}

interface SuiteRun {
  code: number;
  results: (BenchResults & { raw: Record<string, Record<string, number[]>> }) | null;
  markdown: string;
  files: string[];
}

async function runSuite(args: string[], env: Record<string, string>): Promise<SuiteRun> {
  const out = mkdtempSync(join(tmpdir(), "bench-smoke-"));
  try {
    const child = Bun.spawn([process.execPath, suite, "--smoke", "--out", out, ...args], {
      stdout: "inherit", stderr: "inherit", stdin: "ignore", env: { ...process.env, ...env },
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), suiteRunMsMax); // SIGTERM: the suite stops what it started
    const code = await child.exited;
    clearTimeout(timer);
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith("-smoke.json"));
    const md = files.find((f) => f.endsWith("-smoke.md"));
    return {
      code,
      results: json ? JSON.parse(readFileSync(join(out, json), "utf8")) : null,
      markdown: md ? readFileSync(join(out, md), "utf8") : "",
      files,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function checkFigures(run: SuiteRun, targetId: string, metrics: string[]): void {
  const target = run.results?.targets.find((t) => t.id === targetId);
  check(`${targetId} ran`, target?.status === "ok", target ? `${target.status}: ${target.reason ?? ""}` : "not in the results");
  const raw = run.results?.raw[targetId] ?? {};
  const missing = metrics.filter((metric) => !(raw[metric]?.[0]! > 0));
  check(`${targetId} has every figure`, missing.length === 0, `missing or zero: ${missing.join(", ")}`);
  check(`${targetId} had no workload error`, !target?.errors?.length, target?.errors?.join("; "));
  check(`${targetId} has its row in the produce table`, new RegExp(`^\\| ${targetId} \\| [0-9][0-9,]* \\|`, "m").test(run.markdown));
}

const binary = join(import.meta.dir, "../../dist/bolide");
if (!existsSync(binary)) {
  check("dist/bolide exists (npm run -s build)", false);
} else {
  const started = performance.now();
  const first = await runSuite(["--targets", "bolide"], {});
  check("suite run exits 0", first.code === 0, `exit code ${first.code}`);
  check("JSON, table and chart written", ["json", "md", "svg"].every((ext) => first.files.some((f) => f.endsWith(`-smoke.${ext}`))), first.files.join(", "));
  checkFigures(first, "bolide-async", bolideMetrics);
  checkFigures(first, "bolide-sync", bolideMetrics);

  const broken = which("false") ?? "/bin/false"; // a "broker" that exits at once
  const second = await runSuite(["--targets", "bolide-async,null,nosuch"], { BOLIDE_BENCH_BINARY: broken });
  check("suite run with a failing and an unknown target exits 0", second.code === 0, `exit code ${second.code}`);
  const failing = second.results?.targets.find((t) => t.id === "bolide-async");
  check("a broker that cannot start is reported as such", failing?.status === "failed" && (failing.reason ?? "").startsWith("failed to start: "), JSON.stringify(failing));
  check("... with a line in the table", /^\| bolide-async \| \*\*failed\*\*: failed to start: .+\|/m.test(second.markdown));
  check("an unknown target is reported in the table", /^\| nosuch \| \*\*skipped\*\*: unknown target \|/m.test(second.markdown));
  checkFigures(second, "null", nullMetrics);

  // CPU pinning (--broker-cpus / --client-cpus): the null broker on CPU 0, the clients on CPU 1.
  if (navigator.hardwareConcurrency >= 2) {
    const pinned = await runSuite(["--targets", "null", "--workloads", "produce", "--broker-cpus", "0", "--client-cpus", "1"], {});
    check("suite run with --broker-cpus 0 --client-cpus 1 exits 0", pinned.code === 0, `exit code ${pinned.code}`);
    const nullTarget = pinned.results?.targets.find((t) => t.id === "null");
    check("... the broker ran on CPU 0 only and the results say so",
      nullTarget?.brokerCpus === "0" && pinned.results?.settings.cpuPinning?.client === "1" && /brokers pinned to 0, clients to 1/.test(pinned.markdown),
      JSON.stringify({ brokerCpus: nullTarget?.brokerCpus, pinning: pinned.results?.settings.cpuPinning }));
    checkFigures(pinned, "null", ["coldStartMs", "produce.msgPerSec"]);
  }

  // The A/B tool (ab.ts): the same build on both sides, one short produce pass each.
  const ab = Bun.spawn([process.execPath, join(import.meta.dir, "ab.ts"), "--a", binary, "--b", binary, "--workload", "produce", "--passes", "1", "--messages", "2000"], {
    stdout: "pipe", stderr: "inherit", stdin: "ignore",
  });
  const abTimer = setTimeout(() => ab.kill("SIGTERM"), 120_000);
  const abOutput = await new Response(ab.stdout).text();
  const abCode = await ab.exited;
  clearTimeout(abTimer);
  check("ab.ts: A/B of two builds exits 0 with a line per build", abCode === 0 && /^A .+msg\/s [1-9]/m.test(abOutput) && /^B .+msg\/s [1-9]/m.test(abOutput), `exit code ${abCode}: ${abOutput.trim()}`);
  process.stdout.write(`bench smoke: ${Math.round((performance.now() - started) / 1000)} s\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);

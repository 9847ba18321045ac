// The results chart: a Vega-Lite spec rendered to SVG by Vega's headless renderer (no browser).
//   bun scripts/bench/chart.ts bench/results/<file>.json      → <file>.svg beside it
import { writeFileSync, readFileSync } from "node:fs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { BenchResults } from "./lib/report.ts";

export async function renderChart(results: BenchResults, path: string): Promise<void> {
  const rows: { target: string; panel: string; value: number }[] = [];
  const panels: [string, string][] = [
    ["produce.msgPerSec", "produce msg/s (2 × 128 in flight)"],
    ["consume.msgPerSec", "consume msg/s (backlog)"],
    ["producers16.msgPerSec", "16 producers msg/s (1 in flight each)"],
    ["latency5k.p99Ms", "e2e p99 ms at 5k msg/s (lower is better)"],
  ];
  const order = results.targets.filter((t) => t.status === "ok").map((t) => t.id);
  for (const id of order) {
    for (const [metric, panel] of panels) {
      const s = results.summary[id]?.[metric];
      if (s) rows.push({ target: id, panel, value: s.median });
    }
  }
  const kib = results.settings.bodyBytes >= 1024 ? `${results.settings.bodyBytes / 1024} KiB` : `${results.settings.bodyBytes} B`;
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `Bolide vs. other brokers, ${kib} messages (${results.mode} run ${results.date.slice(0, 10)}, ${results.machine.cpus} cores)`, fontSize: 14 },
    data: { values: rows },
    facet: { row: { field: "panel", type: "nominal", title: null, sort: panels.map((p) => p[1]), header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top", labelFontSize: 12, labelFontWeight: "bold" } } },
    spec: {
      width: 520,
      height: { step: 16 },
      mark: { type: "bar", tooltip: true },
      encoding: {
        y: { field: "target", type: "nominal", sort: order, title: null },
        x: { field: "value", type: "quantitative", title: null },
        color: {
          field: "target", type: "nominal", sort: order, legend: null,
          scale: { domain: order, range: order.map((id) => (id.startsWith("bolide") ? "#d9480f" : id.startsWith("rocketmq") ? "#1c7ed6" : id === "null" ? "#adb5bd" : "#74c0fc")) },
        },
      },
    },
    resolve: { scale: { x: "independent" } },
    config: { font: "sans-serif", background: "white" },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  writeFileSync(path, await view.toSVG());
  view.finalize();
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: bun scripts/bench/chart.ts <results.json>");
  const out = file.replace(/\.json$/, ".svg");
  await renderChart(JSON.parse(readFileSync(file, "utf8")) as BenchResults, out);
  process.stdout.write(`${out}\n`);
}

/**
 * The overview's charts, drawn by uPlot (npm `uplot`, bundled at build
 * time): one chart per figure group over the last `ADMIN_SERIES_S`.
 *
 * @module
 */

/// <reference lib="dom" />

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { field, list } from "./api.ts";

/** One chart: a title and the figures it draws. */
interface ChartSpec {
  title: string;
  figures: { name: string; label: string; color: string }[];
}

const CHARTS: ChartSpec[] = [
  {
    title: "Connections",
    figures: [{ name: "connections", label: "open", color: "#2563eb" }],
  },
  {
    title: "Publishes / s",
    figures: [{ name: "publishes", label: "publishes/s", color: "#16a34a" }],
  },
  {
    title: "Deliveries / s",
    figures: [{ name: "deliveries", label: "frames/s", color: "#9333ea" }],
  },
  {
    title: "Bytes out / s",
    figures: [{ name: "bytesOut", label: "bytes/s", color: "#ea580c" }],
  },
  {
    title: "Refusals / s by reason",
    figures: [
      { name: "refusedRate", label: "rate", color: "#dc2626" },
      { name: "refusedSize", label: "size", color: "#d97706" },
      { name: "refusedAuth", label: "auth", color: "#7c3aed" },
      { name: "refusedOrigin", label: "origin", color: "#0891b2" },
      { name: "refusedCapacity", label: "capacity", color: "#4b5563" },
    ],
  },
  {
    title: "Slow-consumer cut-offs / s",
    figures: [{ name: "slowConsumers", label: "cut-offs/s", color: "#be123c" }],
  },
  {
    title: "Bus gaps and repairs / s",
    figures: [
      { name: "busGaps", label: "gaps/s", color: "#b91c1c" },
      { name: "repairs", label: "repairs/s", color: "#0d9488" },
      { name: "lost", label: "lost/s", color: "#111827" },
    ],
  },
  {
    title: "History backlog (messages)",
    figures: [{ name: "historyBacklog", label: "messages", color: "#a16207" }],
  },
];

/** The overview's charts, updated from `GET /admin/api/series`. */
export class Charts {
  readonly #plots: uPlot[] = [];

  /** Creates the charts inside `root`. */
  constructor(root: HTMLElement) {
    for (const spec of CHARTS) {
      const box = document.createElement("figure");
      box.className = "chart";
      box.dataset.chart = spec.title;
      root.append(box);
      const options: uPlot.Options = {
        title: spec.title,
        width: 420,
        height: 180,
        scales: {
          x: { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        series: [
          {},
          ...spec.figures.map((f) => ({
            label: f.label,
            stroke: f.color,
            width: 1.5,
            spanGaps: false,
          })),
        ],
        axes: [{}, { size: 60 }],
        legend: { show: true },
      };
      this.#plots.push(
        new uPlot(options, [[], ...spec.figures.map(() => [])], box),
      );
    }
  }

  /** Draws a series answer. */
  update(series: unknown): void {
    const t = list(series, "t").map((v) => typeof v === "number" ? v : 0);
    const figures = field(series, "figures");
    CHARTS.forEach((spec, i) => {
      const columns = spec.figures.map((f) =>
        list(figures, f.name).map((v) => typeof v === "number" ? v : null)
      );
      this.#plots[i]?.setData([t, ...columns]);
    });
  }
}

/**
 * A small SVG bar chart, written by hand: one panel per case, one horizontal
 * bar per contestant at the median, with a whisker for the min–max range.
 *
 * @module
 */

/** One bar. */
export interface Bar {
  label: string;
  median: number;
  min: number;
  max: number;
  /** Drawn in the accent colour (roomcast). */
  accent?: boolean;
  /** Text after the bar, e.g. "generator-bound". */
  note?: string;
}

/** One panel of bars sharing a scale. */
export interface Panel {
  title: string;
  /** Unit shown after the values, e.g. "deliveries/s". */
  unit: string;
  bars: Bar[];
  /** Smaller is better (shown in the title). */
  lowerIsBetter?: boolean;
}

const WIDTH = 960;
const LABEL_W = 250;
const BAR_H = 18;
const GAP = 6;
const PANEL_HEAD = 34;
const PANEL_GAP = 18;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}

function short(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Renders `panels` as a standalone SVG document. */
export function renderChart(title: string, panels: Panel[]): string {
  const parts: string[] = [];
  let y = 40;
  const plotW = WIDTH - LABEL_W - 150;
  for (const panel of panels) {
    if (panel.bars.length === 0) continue;
    const top = Math.max(...panel.bars.map((b) => Math.max(b.max, b.median)));
    const scale = top > 0 ? plotW / top : 0;
    parts.push(
      `<text x="16" y="${y + 18}" class="panel">${esc(panel.title)} — ${
        esc(panel.unit)
      }${panel.lowerIsBetter ? " (lower is better)" : ""}</text>`,
    );
    y += PANEL_HEAD;
    for (const bar of panel.bars) {
      const w = Math.max(1, bar.median * scale);
      const cy = y + BAR_H / 2;
      parts.push(
        `<text x="${LABEL_W - 8}" y="${cy + 4}" class="label">${
          esc(bar.label)
        }</text>`,
        `<rect x="${LABEL_W}" y="${y}" width="${
          w.toFixed(1)
        }" height="${BAR_H}" class="${bar.accent ? "accent" : "bar"}"/>`,
      );
      if (bar.max > bar.min) {
        const x1 = LABEL_W + bar.min * scale, x2 = LABEL_W + bar.max * scale;
        parts.push(
          `<line x1="${x1.toFixed(1)}" x2="${
            x2.toFixed(1)
          }" y1="${cy}" y2="${cy}" class="whisker"/>`,
          `<line x1="${x1.toFixed(1)}" x2="${x1.toFixed(1)}" y1="${
            cy - 5
          }" y2="${cy + 5}" class="whisker"/>`,
          `<line x1="${x2.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${
            cy - 5
          }" y2="${cy + 5}" class="whisker"/>`,
        );
      }
      const textX = LABEL_W + Math.max(w, bar.max * scale) + 8;
      const text = bar.median === 0 && bar.note
        ? esc(bar.note)
        : `${short(bar.median)}${bar.note ? ` · ${esc(bar.note)}` : ""}`;
      parts.push(
        `<text x="${textX.toFixed(1)}" y="${
          cy + 4
        }" class="value">${text}</text>`,
      );
      y += BAR_H + GAP;
    }
    y += PANEL_GAP;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    `<style>.title{font-size:18px;font-weight:600}.panel{font-size:14px;font-weight:600}.label{font-size:12px;text-anchor:end}.value{font-size:12px}.bar{fill:#8a9bb0}.accent{fill:#2f7de1}.whisker{stroke:#222;stroke-width:1.2}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="26" class="title">${esc(title)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}

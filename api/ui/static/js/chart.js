// Line charts of the metrics history, drawn as SVG by hand: no library, no network.

import { h, svg } from "./dom.js";

const W = 560;
const H = 180;
const PAD = { left: 48, right: 12, top: 12, bottom: 26 };

/** A chart of `points` ([{timestamp, value}], value null where nothing was measured). */
export function lineChart(points, { title, unit = "" } = {}) {
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title || "chart" });
  const figure = h("figure", { class: "chart card", dataset: { points: points.length, measured: values.length } });
  if (title) figure.append(h("figcaption", {}, h("strong", {}, title), unit ? h("span", { class: "muted" }, ` (${unit})`) : null));
  figure.append(box);
  if (!points.length || !values.length) {
    box.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "no data in this period"));
    return figure;
  }
  let low = Math.min(0, ...values);
  let high = Math.max(...values);
  if (high === low) high = low + 1;
  const times = points.map((p) => Date.parse(p.timestamp));
  const t0 = times[0];
  const t1 = times[times.length - 1] === t0 ? t0 + 1 : times[times.length - 1];
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((v - low) / (high - low)) * (H - PAD.top - PAD.bottom);

  box.append(
    svg("line", { x1: PAD.left, y1: y(low), x2: W - PAD.right, y2: y(low), class: "axis" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: "axis" }),
    svg("text", { x: PAD.left - 6, y: y(high) + 4, "text-anchor": "end" }, format(high)),
    svg("text", { x: PAD.left - 6, y: y(low) + 4, "text-anchor": "end" }, format(low)),
    svg("text", { x: PAD.left, y: H - 6 }, clock(t0)),
    svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end" }, clock(t1)),
  );
  // A run of measured points is one line; a gap (null) breaks it.
  let run = [];
  const runs = [run];
  points.forEach((p, n) => {
    if (p.value === null || p.value === undefined) {
      if (run.length) runs.push((run = []));
    } else run.push([x(times[n]), y(p.value)]);
  });
  for (const r of runs.filter((r) => r.length)) {
    const line = r.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
    if (r.length > 1) {
      const base = y(low).toFixed(1);
      box.append(svg("polygon", { class: "area", points: `${r[0][0].toFixed(1)},${base} ${line} ${r[r.length - 1][0].toFixed(1)},${base}` }));
      box.append(svg("polyline", { class: "line", points: line }));
    }
  }
  points.forEach((p, n) => {
    if (p.value === null || p.value === undefined) return;
    box.append(svg("circle", { class: "dot", cx: x(times[n]).toFixed(1), cy: y(p.value).toFixed(1), r: 2.5 }, svg("title", {}, `${clock(times[n])}: ${format(p.value)} ${unit}`)));
  });
  return figure;
}

function format(v) {
  if (Math.abs(v) >= 1000) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return Number(v.toFixed(3)).toString();
}

function clock(t) {
  return new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

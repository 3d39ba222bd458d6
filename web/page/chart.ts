/** The progress-over-time chart drawn as SVG, from the shapes of chart-geometry.ts. */
import { chartGeometry, FORECAST_PANEL, HEIGHT, LEFT, PROGRESS_PANEL, RIGHT, WIDTH, type ChartInput } from "./chart-geometry.ts";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A time on the axes in the viewer's clock, with seconds when the chart spans less than ten minutes. */
function clockLabel(spanMs: number): (atMs: number) => string {
  const options: Intl.DateTimeFormatOptions = spanMs < 600_000 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" };
  return (atMs) => new Date(atMs).toLocaleTimeString([], options);
}

/** The chart as an SVG element; `label` formats a time on the axes (the viewer's clock by default). */
export function chartSvg(input: ChartInput, label?: (atMs: number) => string): SVGElement {
  const geometry = chartGeometry(input);
  label ??= clockLabel(geometry.domain[1] - geometry.domain[0]);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: "100%", role: "img", "aria-label": "progress over time and forecast finish over time", "data-chart": "history" });
  const right = WIDTH - RIGHT;
  // Progress panel: grid at 0, 50, 100 %.
  for (const percent of [0, 50, 100]) {
    const y = PROGRESS_PANEL.top + PROGRESS_PANEL.height * (1 - percent / 100);
    root.append(svg("line", { x1: LEFT, x2: right, y1: y, y2: y, class: "grid" }), svg("text", { x: LEFT - 6, y: y + 4, class: "axis", "text-anchor": "end" }, `${percent}%`));
  }
  root.append(svg("path", { d: geometry.progressPath, class: "progress-line", "data-series": "progress" }));
  if (geometry.projection !== null) {
    const { x1, y1, x2, y2 } = geometry.projection;
    root.append(svg("line", { x1, y1, x2, y2, class: "projection", "data-series": "projection" }));
  }
  // Forecast panel.
  const bottom = FORECAST_PANEL.top + FORECAST_PANEL.height;
  root.append(
    svg("line", { x1: LEFT, x2: right, y1: bottom, y2: bottom, class: "grid" }),
    svg("text", { x: LEFT - 6, y: FORECAST_PANEL.top + 4, class: "axis", "text-anchor": "end" }, label(geometry.forecastDomain[1])),
    svg("text", { x: LEFT - 6, y: bottom, class: "axis", "text-anchor": "end" }, label(geometry.forecastDomain[0])),
    svg("text", { x: LEFT + 4, y: FORECAST_PANEL.top - 6, class: "caption" }, "forecast finish: a flat line is an ETA that kept its word (dotted: now)"),
    svg("line", { ...geometry.diagonal, class: "diagonal" }),
  );
  if (geometry.finishLine !== null) root.append(svg("line", { x1: LEFT, x2: right, y1: geometry.finishLine, y2: geometry.finishLine, class: "finish", "data-series": "finish" }));
  const forecastPath = geometry.forecasts.map(({ x, y }, index) => `${index === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
  if (forecastPath !== "") root.append(svg("path", { d: forecastPath, class: "forecast-line", "data-series": "forecast" }));
  // Each forecast as a dot too: the first one alone is a line of no length.
  for (const { x, y } of geometry.forecasts) root.append(svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, class: "forecast-dot" }));
  // The shared time axis, under both panels.
  for (const tick of geometry.ticks) {
    root.append(svg("line", { x1: tick.x, x2: tick.x, y1: bottom, y2: bottom + 4, class: "grid" }), svg("text", { x: tick.x, y: bottom + 16, class: "axis", "text-anchor": "middle" }, label(tick.atMs)));
  }
  return root;
}

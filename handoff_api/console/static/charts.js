// Small inline-SVG charts for the supervisor view (no chart library).

const SVG = "http://www.w3.org/2000/svg";

function node(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) { element.setAttribute(name, String(value)); }
  if (text !== undefined) { element.textContent = text; }
  return element;
}

/** Vertical bars: items [{label, value, color}], returns an <svg>. */
export function barChart(items, { width = 360, height = 200, title = "" } = {}) {
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart" });
  const max = Math.max(1, ...items.map((item) => item.value));
  const top = 40;
  const bottom = 34;
  const slot = (width - 20) / Math.max(items.length, 1);
  const barWidth = Math.min(56, slot * 0.6);
  svg.appendChild(node("text", { x: 10, y: 16, class: "chart-title" }, title));
  svg.appendChild(node("line", { x1: 10, y1: height - bottom, x2: width - 10, y2: height - bottom, class: "axis" }));
  items.forEach((item, index) => {
    const barHeight = ((height - top - bottom) * item.value) / max;
    const x = 10 + slot * index + (slot - barWidth) / 2;
    const y = height - bottom - barHeight;
    const bar = node("rect", { x, y, width: barWidth, height: Math.max(barHeight, 0), rx: 3, fill: item.color || "#c8102e" });
    bar.appendChild(node("title", {}, `${item.label}：${item.value}`));
    svg.appendChild(bar);
    svg.appendChild(node("text", { x: x + barWidth / 2, y: y - 4, "text-anchor": "middle", class: "value" }, String(item.value)));
    svg.appendChild(node("text", { x: x + barWidth / 2, y: height - bottom + 16, "text-anchor": "middle", class: "label" }, item.label));
  });
  return svg;
}

/** A ring showing a share between 0 and 1 (null = no data). */
export function ratioRing(share, { size = 160, title = "" } = {}) {
  const svg = node("svg", { viewBox: `0 0 ${size} ${size + 24}`, role: "img", "aria-label": title, class: "chart ring" });
  const radius = size / 2 - 14;
  const centre = size / 2;
  const circumference = 2 * Math.PI * radius;
  svg.appendChild(node("circle", { cx: centre, cy: centre, r: radius, fill: "none", stroke: "#e4e6eb", "stroke-width": 14 }));
  if (share !== null && share !== undefined) {
    svg.appendChild(node("circle", {
      cx: centre, cy: centre, r: radius, fill: "none", stroke: "#2e7d32", "stroke-width": 14,
      "stroke-dasharray": `${circumference * share} ${circumference}`,
      transform: `rotate(-90 ${centre} ${centre})`, "stroke-linecap": "round",
    }));
  }
  const label = share === null || share === undefined ? "—" : `${Math.round(share * 100)}%`;
  svg.appendChild(node("text", { x: centre, y: centre + 8, "text-anchor": "middle", class: "ring-value" }, label));
  svg.appendChild(node("text", { x: centre, y: size + 18, "text-anchor": "middle", class: "label" }, title));
  return svg;
}

/** Horizontal bars for ranked items [{label, value}]. */
export function rankChart(items, { width = 520, title = "" } = {}) {
  const rowHeight = 26;
  const height = 28 + Math.max(items.length, 1) * rowHeight;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart wide" });
  svg.appendChild(node("text", { x: 4, y: 16, class: "chart-title" }, title));
  if (!items.length) {
    svg.appendChild(node("text", { x: 4, y: 44, class: "label" }, "今天暂无未解决问题"));
    return svg;
  }
  const max = Math.max(1, ...items.map((item) => item.value));
  const labelWidth = width * 0.55;
  items.forEach((item, index) => {
    const y = 28 + index * rowHeight;
    const text = item.label.length > 22 ? `${item.label.slice(0, 22)}…` : item.label;
    const caption = node("text", { x: 4, y: y + 16, class: "label" }, text);
    caption.appendChild(node("title", {}, item.label));
    svg.appendChild(caption);
    const barWidth = ((width - labelWidth - 40) * item.value) / max;
    svg.appendChild(node("rect", { x: labelWidth, y: y + 4, width: Math.max(barWidth, 2), height: 16, rx: 3, fill: "#0b4bb3" }));
    svg.appendChild(node("text", { x: labelWidth + barWidth + 6, y: y + 16, class: "value" }, String(item.value)));
  });
  return svg;
}

/** Bars grouped per category: categories [label], series [{name, color, values[]}] (null: no data), a legend;
 *  `max` fixes the scale (e.g. 5 stars). */
export function groupedBarChart(categories, series, { width = 520, height = 230, title = "", format = String, max: scale } = {}) {
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart wide" });
  const top = 44;
  const bottom = 34;
  const max = scale ?? Math.max(1, ...series.flatMap((one) => one.values.map((value) => value ?? 0)));
  const slot = (width - 20) / Math.max(categories.length, 1);
  const barWidth = Math.min(34, (slot * 0.8) / Math.max(series.length, 1));
  svg.appendChild(node("text", { x: 10, y: 16, class: "chart-title" }, title));
  series.forEach((one, index) => {
    const x = 10 + index * 110;
    svg.appendChild(node("rect", { x, y: 24, width: 10, height: 10, rx: 2, fill: one.color }));
    svg.appendChild(node("text", { x: x + 14, y: 33, class: "label" }, one.name));
  });
  svg.appendChild(node("line", { x1: 10, y1: height - bottom, x2: width - 10, y2: height - bottom, class: "axis" }));
  categories.forEach((category, column) => {
    const start = 10 + slot * column + (slot - barWidth * series.length) / 2;
    series.forEach((one, index) => {
      const value = one.values[column];
      const barHeight = ((height - top - bottom) * (value ?? 0)) / max;
      const x = start + index * barWidth;
      const y = height - bottom - barHeight;
      const bar = node("rect", { x, y, width: barWidth - 2, height: Math.max(barHeight, 0), rx: 2, fill: one.color });
      bar.appendChild(node("title", {}, `${category} ${one.name}：${value === null ? "—" : format(value)}`));
      svg.appendChild(bar);
      const caption = value === null || value === undefined ? "—" : format(value);
      svg.appendChild(node("text", { x: x + barWidth / 2 - 1, y: y - 3, "text-anchor": "middle", class: "value" }, caption));
    });
    const text = category.length > 8 ? `${category.slice(0, 8)}…` : category;
    svg.appendChild(node("text", { x: 10 + slot * column + slot / 2, y: height - bottom + 16, "text-anchor": "middle", class: "label" }, text));
  });
  return svg;
}

// The supervisor tabs: 工作台, 今日数据 (figures and charts for today) and 报表.

import { api } from "./api.js";
import { barChart, rankChart, ratioRing } from "./charts.js";
import { openReports } from "./reports.js";
import { $, attempt, duration, el, show } from "./ui.js";

export function showTab(name) {
  for (const tab of ["work", "stats", "reports"]) {
    show($(tab), tab === name);
    $(`tab-${tab}`).classList.toggle("active", tab === name);
  }
  if (name === "stats") { loadStats(); }
  if (name === "reports") { openReports(); }
}

async function loadStats() {
  const stats = await attempt(() => api.statsToday());
  if (!stats) { return; }
  const figures = $("stat-figures");
  figures.textContent = "";
  const rate = stats.bot_resolution_rate;
  const cards = [
    ["今日会话", stats.conversations],
    ["机器人解决率", rate === null ? "—" : `${Math.round(rate * 100)}%`],
    ["首次响应中位数", stats.median_first_response_seconds === null ? "—" : duration(stats.median_first_response_seconds)],
    ["排队等待中位数", stats.median_wait_seconds === null ? "—" : duration(stats.median_wait_seconds)],
    ["机器人转人工", stats.escalated_from_bot],
  ];
  for (const [label, value] of cards) {
    const card = el("div", "figure");
    card.appendChild(el("div", "figure-value", String(value)));
    card.appendChild(el("div", "figure-label", label));
    figures.appendChild(card);
  }
  const charts = $("stat-charts");
  charts.textContent = "";
  const tiers = stats.resolved_by_tier || {};
  const pick = (key) => Number(tiers[key] ?? tiers[String(key)] ?? 0);
  charts.appendChild(barChart([
    { label: "机器人", value: pick(1), color: "#2e7d32" },
    { label: "在线坐席", value: pick(2), color: "#0b4bb3" },
    { label: "专属响应人", value: pick(3), color: "#c8102e" },
  ], { title: "各层级解决数量" }));
  charts.appendChild(ratioRing(rate, { title: "机器人解决率" }));
  charts.appendChild(rankChart(
    (stats.top_unresolved || []).map((item) => ({ label: item.question, value: item.count })),
    { title: "机器人未解决的高频问题" },
  ));
}

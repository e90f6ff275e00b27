// Supervisor reports: a date range, a grouping, inline-SVG charts, a table and the CSV download.

import { api, session } from "./api.js";
import { barChart, groupedBarChart } from "./charts.js";

const BRANCH_ZONE = "Asia/Shanghai";
const DAY_MS = 24 * 60 * 60 * 1000;
const COLUMNS = [
  ["label", "名称"],
  ["volume", "接待量"],
  ["bot_confirmed", "机器人确认解决"],
  ["bot_assumed", "机器人推定解决"],
  ["first_response_seconds", "首次响应"],
  ["wait_seconds", "等待"],
  ["handle_seconds", "处理时长"],
  ["sla_breaches", "超时(SLA)"],
  ["transfers", "转接"],
  ["ratings", "评价数"],
  ["average_rating", "平均满意度"],
];
const DURATIONS = new Set(["first_response_seconds", "wait_seconds", "handle_seconds"]);

const $ = (id) => document.getElementById(id);

function branchDate(time) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: BRANCH_ZONE }).format(time);
}

function minutes(seconds) {
  if (seconds === null || seconds === undefined) { return "—"; }
  return seconds < 60 ? `${Math.round(seconds)}秒` : `${(seconds / 60).toFixed(1)}分`;
}

function query() {
  const from = $("report-from").value;
  const to = $("report-to").value;
  return `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&by=${encodeURIComponent($("report-by").value)}`;
}

function showError(message) {
  $("report-error").textContent = message || "";
}

function drawCharts(rows, by) {
  const charts = $("report-charts");
  charts.textContent = "";
  const labels = rows.map((row) => row.label);
  const pick = (key) => rows.map((row) => row[key]);
  charts.appendChild(barChart(rows.map((row) => ({ label: row.label, value: row.volume, color: "#0b4bb3" })), {
    title: by === "tier" ? "接待量（机器人：会话；人工：工单）" : "接待量（工单）",
  }));
  if (by === "tier") {
    charts.appendChild(groupedBarChart(["机器人"], [
      { name: "确认解决", color: "#2e7d32", values: [rows[0]?.bot_confirmed ?? 0] },
      { name: "推定解决", color: "#8bc34a", values: [rows[0]?.bot_assumed ?? 0] },
      { name: "转人工", color: "#c8102e", values: [rows.slice(1).reduce((sum, row) => sum + row.volume, 0)] },
    ], { title: "机器人解决情况", width: 380 }));
  }
  charts.appendChild(groupedBarChart(labels, [
    { name: "首次响应", color: "#0b4bb3", values: pick("first_response_seconds") },
    { name: "等待", color: "#f29d38", values: pick("wait_seconds") },
    { name: "处理时长", color: "#7e57c2", values: pick("handle_seconds") },
  ], { title: "时长中位数", format: minutes }));
  charts.appendChild(groupedBarChart(labels, [
    { name: "超时(SLA)", color: "#c8102e", values: pick("sla_breaches") },
    { name: "转接", color: "#646a73", values: pick("transfers") },
  ], { title: "超时与转接次数" }));
  charts.appendChild(groupedBarChart(labels, [
    { name: "平均满意度(满分5)", color: "#f5b700", values: pick("average_rating") },
  ], { title: "满意度", format: (value) => value.toFixed(1), max: 5 }));
  const stars = [0, 1, 2, 3, 4].map((index) => rows.reduce((sum, row) => sum + row.rating_counts[index], 0));
  charts.appendChild(barChart(stars.map((value, index) => ({ label: `${index + 1}星`, value, color: "#f5b700" })), {
    title: "评分分布",
  }));
}

function drawTable(rows) {
  const table = $("report-table");
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const [, title] of COLUMNS) { head.appendChild(document.createElement("th")).textContent = title; }
  const body = table.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    for (const [key] of COLUMNS) {
      const value = row[key];
      line.insertCell().textContent = DURATIONS.has(key) ? minutes(value) : value === null ? "—" : String(value);
    }
  }
}

async function load(event) {
  if (event) { event.preventDefault(); }
  showError("");
  try {
    const report = await api.reports(query());
    drawCharts(report.rows, report.by);
    drawTable(report.rows);
    $("report-range").textContent = `${report.from_date} 至 ${report.to_date}`;
  } catch (error) {
    showError(error.message);
  }
}

async function download() {
  showError("");
  const response = await fetch(`/api/v1/staff/reports.csv?${query()}`, {
    headers: { authorization: `Bearer ${session.token}` },
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    showError(problem.detail || `下载失败（${response.status}）`);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `报表-${$("report-by").value}-${$("report-from").value}-${$("report-to").value}.csv`;
  link.click();
  URL.revokeObjectURL(link.href);
}

let ready = false;

/** Show the reports view: the last seven branch days by tier the first time, then what was chosen. */
export function openReports() {
  if (!ready) {
    ready = true;
    const now = Date.now();
    $("report-to").value = branchDate(now);
    $("report-from").value = branchDate(now - 6 * DAY_MS);
    $("report-form").addEventListener("submit", load);
    $("report-csv").addEventListener("click", download);
  }
  load();
}

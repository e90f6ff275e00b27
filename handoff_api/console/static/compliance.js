// Compliance search in the console (合规检索): compliance staff and admins search conversations by client,
// staff member, date and text, and download a transcript (CSV, TXT or JSON). The server audits each use.

import { api, session } from "./api.js";

const $ = (id) => document.getElementById(id);
const SEARCHERS = new Set(["compliance", "admin"]);
const VIEWS = ["work", "stats", "reports", "canned-admin"];
const STATE_LABELS = {
  bot: "机器人服务", queued: "排队中", with_agent: "人工服务中", awaiting_responder: "待专属响应人处理",
  with_responder: "专属响应人服务中", resolved: "已解决", closed: "已结束",
};

let notify = () => {};
let page = 1;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function showSearch(visible) {
  $("compliance").classList.toggle("hidden", !visible);
  $("tab-compliance").classList.toggle("active", visible);
  if (!visible) { return; }
  for (const view of VIEWS) {
    const node = $(view);
    if (node) { node.classList.add("hidden"); }
  }
  for (const tab of document.querySelectorAll(".tabs .tab")) {
    if (tab.id !== "tab-compliance") { tab.classList.remove("active"); }
  }
}

function dayAfter(day) {
  if (!day) { return ""; }
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

function filters() {
  const values = {
    client_id: $("cmp-client").value.trim(),
    staff_id: $("cmp-staff").value.trim(),
    from: $("cmp-from").value,
    to: dayAfter($("cmp-to").value), // the end date is inclusive
    q: $("cmp-text").value.trim(),
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value));
}

async function download(id, format) {
  const response = await fetch(
    `/api/v1/staff/compliance/conversations/${encodeURIComponent(id)}/export?format=${format}`,
    { headers: { authorization: `Bearer ${session.token}` } },
  );
  if (!response.ok) { notify(`导出失败：HTTP ${response.status}`, "error"); return; }
  const link = el("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `conversation-${id}.${format}`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
  notify("会话记录已导出");
}

function resultRow(item) {
  const row = el("tr", "cmp-row");
  row.dataset.id = item.conversation_id;
  row.appendChild(el("td", null, new Date(item.created_at).toLocaleString("zh-CN")));
  row.appendChild(el("td", null, item.client_id));
  row.appendChild(el("td", null, STATE_LABELS[item.state] || item.state));
  row.appendChild(el("td", null, item.assignee_id || "—"));
  row.appendChild(el("td", "cmp-snippet", item.snippet || ""));
  const exports = el("td", "cmp-exports");
  for (const format of ["csv", "txt", "json"]) {
    const button = el("button", `link export-${format}`, format.toUpperCase());
    button.type = "button";
    button.addEventListener("click", () => download(item.conversation_id, format));
    exports.appendChild(button);
  }
  row.appendChild(exports);
  return row;
}

async function search(wanted) {
  let result;
  try {
    result = await api.complianceSearch({ ...filters(), page: String(wanted) });
  } catch (error) {
    $("cmp-error").textContent = `检索失败：${error.message}`;
    return;
  }
  page = result.page;
  $("cmp-error").textContent = "";
  $("cmp-rows").replaceChildren(...result.items.map(resultRow));
  const pages = Math.max(1, Math.ceil(result.total / result.page_size));
  $("cmp-summary").textContent = `共 ${result.total} 个会话，第 ${page} / ${pages} 页`;
  $("cmp-prev").disabled = page <= 1;
  $("cmp-next").disabled = page >= pages;
}

export function initCompliance(staff, notifier) {
  notify = notifier;
  const searcher = SEARCHERS.has(staff.role);
  $("tab-compliance").classList.toggle("hidden", !searcher);
  if (!initCompliance.wired) {
    initCompliance.wired = true;
    $("tab-compliance").addEventListener("click", () => showSearch(true));
    for (const tab of document.querySelectorAll(".tabs .tab")) {
      if (tab.id !== "tab-compliance") { tab.addEventListener("click", () => showSearch(false)); }
    }
    $("cmp-form").addEventListener("submit", (event) => { event.preventDefault(); search(1); });
    $("cmp-prev").addEventListener("click", () => search(page - 1));
    $("cmp-next").addEventListener("click", () => search(page + 1));
  }
  if (staff.role === "compliance") { showSearch(true); }
}

// Canned replies in the console: the agent's picker (rendered for the open conversation) and the
// supervisors' management view (常用语管理). Variables: {客户姓名} {坐席姓名} {日期}, filled in by the server.

import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const TEAM_LABELS = { all: "全部团队", advisor: "在线投顾", service: "在线客服", responder: "专属响应人" };
const VARIABLES = ["{客户姓名}", "{坐席姓名}", "{日期}"];
const MANAGERS = new Set(["duty_manager", "admin"]);
const VIEWS = ["work", "stats", "reports", "compliance"];

let notify = () => {};
let pickerFor = null; // the conversation the picker was last asked for (a late answer for another is dropped)

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function failed(error) { notify(`操作失败：${error.message}`, "error"); }

// ------------------------------------------------------------------ the agent's picker

export async function loadPicker(conversationId) {
  pickerFor = conversationId;
  let replies;
  try {
    replies = await api.cannedReplies(conversationId);
  } catch (error) {
    failed(error);
    return;
  }
  if (pickerFor !== conversationId) { return; }
  const select = $("canned");
  select.length = 1;
  for (const reply of replies) {
    const option = el("option", null, reply.title);
    option.value = reply.text;
    option.title = reply.text;
    select.appendChild(option);
  }
}

// ------------------------------------------------------------------ the management view

function showManagement(visible) {
  $("canned-admin").classList.toggle("hidden", !visible);
  $("tab-canned").classList.toggle("active", visible);
  if (!visible) { return; }
  for (const view of VIEWS) {
    $(view).classList.add("hidden");
    $(`tab-${view}`).classList.remove("active");
  }
  loadManagement();
}

function editReply(reply) {
  $("canned-id").value = reply ? reply.id : "";
  $("canned-team").value = reply ? reply.team : "all";
  $("canned-title").value = reply ? reply.title : "";
  $("canned-text").value = reply ? reply.text : "";
  $("canned-form-title").textContent = reply ? "修改常用语" : "新增常用语";
  $("canned-error").textContent = "";
  $("canned-title").focus();
}

function replyRow(reply) {
  const row = el("tr", "canned-row");
  row.dataset.id = reply.id;
  row.appendChild(el("td", null, TEAM_LABELS[reply.team] || reply.team));
  row.appendChild(el("td", "canned-title", reply.title));
  row.appendChild(el("td", "canned-text", reply.text));
  row.appendChild(el("td", null, reply.updated_by));
  row.appendChild(el("td", null, new Date(reply.updated_at).toLocaleString("zh-CN")));
  const actions = el("td", "canned-actions");
  const edit = el("button", "link edit", "修改");
  edit.type = "button";
  edit.addEventListener("click", () => editReply(reply));
  const remove = el("button", "link remove", "删除");
  remove.type = "button";
  remove.addEventListener("click", () => removeReply(reply));
  actions.append(edit, remove);
  row.appendChild(actions);
  return row;
}

async function loadManagement() {
  let replies;
  try {
    replies = await api.cannedAll();
  } catch (error) {
    failed(error);
    return;
  }
  const body = $("canned-rows");
  body.replaceChildren(...replies.map(replyRow));
}

async function removeReply(reply) {
  if (!window.confirm(`删除常用语「${reply.title}」？`)) { return; }
  try {
    await api.cannedDelete(reply.id);
    notify("常用语已删除");
    await loadManagement();
  } catch (error) {
    failed(error);
  }
}

async function saveReply(event) {
  event.preventDefault();
  const id = $("canned-id").value;
  const body = { team: $("canned-team").value, title: $("canned-title").value, text: $("canned-text").value };
  try {
    await (id ? api.cannedUpdate(id, body) : api.cannedCreate(body));
  } catch (error) {
    $("canned-error").textContent = `保存失败：${error.message}`;
    return;
  }
  notify(id ? "常用语已修改" : "常用语已新增");
  editReply(null);
  await loadManagement();
}

function insertVariable(variable) {
  const area = $("canned-text");
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? area.value.length;
  area.value = area.value.slice(0, start) + variable + area.value.slice(end);
  area.focus();
  area.selectionStart = area.selectionEnd = start + variable.length;
}

export function initCanned(staff, notifier) {
  notify = notifier;
  const manager = MANAGERS.has(staff.role);
  $("tab-canned").classList.toggle("hidden", !manager);
  if (initCanned.wired) { return; }
  initCanned.wired = true;
  const team = $("canned-team");
  for (const [value, label] of Object.entries(TEAM_LABELS)) {
    const option = el("option", null, label);
    option.value = value;
    team.appendChild(option);
  }
  const variables = $("canned-variables");
  for (const variable of VARIABLES) {
    const button = el("button", "variable", variable);
    button.type = "button";
    button.addEventListener("click", () => insertVariable(variable));
    variables.appendChild(button);
  }
  $("tab-canned").addEventListener("click", () => showManagement(true));
  for (const view of VIEWS) { $(`tab-${view}`).addEventListener("click", () => showManagement(false)); }
  $("canned-form").addEventListener("submit", saveReply);
  $("canned-new").addEventListener("click", () => editReply(null));
}

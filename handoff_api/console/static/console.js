// Agent console: login, queues, live conversations, actions, agent assist and the supervisor view.

import { api, renew, scheduleRenewal, session, whenRenewed, whenUnauthorized } from "./api.js";
import { barChart, rankChart, ratioRing } from "./charts.js";
import { initCanned, loadPicker } from "./canned.js";
import { initCompliance } from "./compliance.js";
import { showOlder } from "./older.js";
import { openReports } from "./reports.js";

const $ = (id) => document.getElementById(id);

const ROLE_LABELS = {
  advisor: "在线投顾", service: "在线客服", responder: "专属响应人", duty_manager: "值班经理", admin: "管理员",
  compliance: "合规专员",
};
const QUEUE_LABELS = { advisor: "投顾队列", service: "客服队列" };
const STATE_LABELS = {
  bot: "机器人服务", queued: "排队中", with_agent: "人工服务中", awaiting_responder: "待专属响应人处理",
  with_responder: "专属响应人服务中", resolved: "已解决", closed: "已结束",
};
const REASON_LABELS = {
  low_score: "机器人无法确定答案", client_unresolved: "客户反馈未解决", asked_human: "客户要求人工",
  advice_request: "投资建议类问题", kb_unavailable: "知识库不可用", wait_limit: "排队超时",
  agent_unresolved: "坐席未解决", agent_escalated: "坐席升级", off_hours: "非服务时间",
  no_staff_online: "无人在线", responder_timeout: "响应超时",
};
const SENDER_LABELS = { client: "客户", bot: "机器人", agent: "坐席", responder: "专属响应人", system: "系统" };
const SUPERVISORS = new Set(["duty_manager", "admin"]);
const TIER2 = new Set(["advisor", "service"]);
const REFRESH_EVENTS = new Set([
  "queued", "position_changed", "agent_joined", "escalated", "transferred", "resolved", "closed", "reopened",
]);

const state = {
  staff: null,
  me: null,
  queues: [],
  queueItems: [],
  colleagues: [],         // who a conversation can be handed to (GET /colleagues)
  conversations: [],
  details: new Map(),     // conversation id -> detail (conversation, client, ticket, transcript)
  unread: new Map(),
  openId: null,
  socket: null,
  attempts: 0,
  refreshTimer: null,
  typingTimer: null,
  lastTypingSent: 0,
  timers: [],
};

// ------------------------------------------------------------------ small helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

function show(node, visible) { node.classList.toggle("hidden", !visible); }

function notify(text, kind = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.dataset.kind = kind;
  show(notice, true);
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => show(notice, false), 5000);
}

function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  if (minutes >= 60) { return `${Math.floor(minutes / 60)}小时${minutes % 60}分`; }
  return minutes ? `${minutes}分${String(rest).padStart(2, "0")}秒` : `${rest}秒`;
}

function time(iso) {
  return new Date(iso).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

async function attempt(action, success) {
  try {
    const result = await action();
    if (success) { notify(success); }
    return result;
  } catch (error) {
    notify(`操作失败：${error.message}`, "error");
    return null;
  }
}

// ------------------------------------------------------------------ login

function showLogin() {
  show($("login"), true);
  show($("app"), false);
  $("staff-id").focus();
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const result = await api.login($("staff-id").value.trim(), $("password").value);
    session.save(result.access_token, result.staff, result.refresh_token, result.expires_in);
    $("password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.status === 401 ? "工号或密码错误" : `登录失败：${error.message}`;
  }
}

function logout() {
  if (state.socket) { state.socket.close(1000, "logout"); }
  state.socket = null;
  state.timers.forEach(clearInterval);
  state.timers = [];
  session.clear();
  state.details.clear();
  state.openId = null;
  showLogin();
}

function sessionEnded() {
  logout();
  $("login-error").textContent = "登录已失效，请重新登录";
}

whenUnauthorized(sessionEnded);

// A renewed token: the socket reconnects with it (the old one would close when its token expires).
whenRenewed(() => {
  if (!state.socket) { return; }
  const old = state.socket;
  state.socket = null;
  old.close(1000, "token renewed");
  connect();
});

async function signOut() {
  try { await api.logout(); } catch (error) { /* signed out locally either way */ }
  logout();
}

// ------------------------------------------------------------------ start-up

async function start() {
  state.staff = session.staff;
  if (!state.staff || !session.token) { showLogin(); return; }
  scheduleRenewal();
  show($("login"), false);
  show($("app"), true);
  const role = state.staff.role;
  $("me-name").textContent = state.staff.name;
  $("me-role").textContent = ROLE_LABELS[role] || role;
  state.queues = SUPERVISORS.has(role) ? ["advisor", "service"] : TIER2.has(role) ? state.staff.skills : [];
  show($("queue-panel"), state.queues.length > 0);
  show($("tab-stats"), SUPERVISORS.has(role));
  show($("tab-reports"), SUPERVISORS.has(role));
  $("mine-title").textContent = role === "responder" ? "我的专属待办" : SUPERVISORS.has(role) ? "进行中的会话" : "我的会话";
  state.colleagues = (await attempt(() => api.colleagues())) || [];
  initCanned(state.staff, notify);
  initCompliance(state.staff, notify);
  await loadPicker(null);
  await refreshAll();
  connect();
  state.timers.push(setInterval(tick, 1000));
  state.timers.push(setInterval(() => api.heartbeat().catch(() => {}), 30000));
}

async function refreshAll() {
  await Promise.all([refreshMe(), refreshQueues(), refreshConversations()]);
  if (state.openId) { await loadDetail(state.openId); }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    refreshMe();
    refreshQueues();
    refreshConversations();
  }, 150);
}

// ------------------------------------------------------------------ me, presence, load

async function refreshMe() {
  const me = await attempt(() => api.me());
  if (!me) { return; }
  state.me = me;
  $("presence").value = me.presence;
  $("load").textContent = `接待 ${me.active} / ${me.max_concurrency}`;
  $("load").dataset.active = String(me.active);
}

async function changePresence() {
  await attempt(() => api.presence($("presence").value), "状态已更新");
  scheduleRefresh();
}

// ------------------------------------------------------------------ queues

async function refreshQueues() {
  if (!state.queues.length) { return; }
  const lists = await Promise.all(state.queues.map((queue) => attempt(() => api.queue(queue))));
  const items = lists.flatMap((list) => list || []);
  items.sort((a, b) => (b.vip - a.vip) || (b.priority - a.priority) || (a.enqueued_at < b.enqueued_at ? -1 : 1));
  state.queueItems = items.map((item) => ({ ...item, seenAt: Date.now() }));
  renderQueue();
}

function renderQueue() {
  const list = $("queue-list");
  list.textContent = "";
  $("queue-count").textContent = state.queueItems.length ? `(${state.queueItems.length})` : "";
  if (!state.queueItems.length) {
    list.appendChild(el("li", "empty-row", "暂无排队客户"));
    return;
  }
  for (const item of state.queueItems) {
    const row = el("li", `queue-item${item.vip ? " is-vip" : ""}`);
    row.dataset.conversation = item.conversation_id;
    const head = el("div", "row-head");
    if (item.vip) { head.appendChild(el("span", "vip", "VIP")); }
    head.appendChild(el("strong", "name", `${item.client.name}`));
    head.appendChild(el("span", "tier", item.client.tier));
    head.appendChild(el("span", "queue-name", QUEUE_LABELS[item.queue] || item.queue));
    row.appendChild(head);
    row.appendChild(el("div", "question", item.question || "（无问题描述）"));
    const meta = el("div", "meta");
    meta.appendChild(el("span", "reason", REASON_LABELS[item.reason] || item.reason));
    const waiting = el("span", "waiting", `已等待 ${duration(item.waiting_seconds)}`);
    waiting.dataset.base = String(item.waiting_seconds);
    waiting.dataset.since = String(item.seenAt);
    meta.appendChild(waiting);
    row.appendChild(meta);
    if (TIER2.has(state.staff.role)) {
      const claim = el("button", "claim", "接入");
      claim.type = "button";
      claim.addEventListener("click", () => claimConversation(item.conversation_id));
      row.appendChild(claim);
    }
    list.appendChild(row);
  }
}

async function claimConversation(id) {
  const claimed = await attempt(() => api.claim(id), "已接入会话");
  if (claimed) {
    await refreshConversations();
    await openConversation(id);
    refreshQueues();
    refreshMe();
  } else {
    refreshQueues();
  }
}

// ------------------------------------------------------------------ my conversations (tabs)

async function refreshConversations() {
  const conversations = await attempt(() => api.conversations());
  if (!conversations) { return; }
  state.conversations = conversations;
  await Promise.all(conversations.filter((c) => !state.details.has(c.id)).map((c) => loadDetail(c.id, false)));
  renderConversations();
}

function renderConversations() {
  const list = $("conversation-list");
  list.textContent = "";
  if (!state.conversations.length) {
    list.appendChild(el("li", "empty-row", "暂无进行中的会话"));
    return;
  }
  for (const conversation of state.conversations) {
    const detail = state.details.get(conversation.id);
    const row = el("li", `conv-item${conversation.id === state.openId ? " active" : ""}`);
    row.dataset.conversation = conversation.id;
    row.tabIndex = 0;
    const head = el("div", "row-head");
    if (detail && detail.client.vip) { head.appendChild(el("span", "vip", "VIP")); }
    head.appendChild(el("strong", "name", detail ? detail.client.name : conversation.client_id));
    const unread = state.unread.get(conversation.id) || 0;
    if (unread) { head.appendChild(el("span", "unread", String(unread))); }
    row.appendChild(head);
    row.appendChild(el("div", "meta", STATE_LABELS[conversation.state] || conversation.state));
    const deadline = detail && detail.ticket && detail.ticket.responder_deadline;
    if (deadline && conversation.tier === 3 && conversation.state === "awaiting_responder") {
      const countdown = el("div", "deadline");
      countdown.dataset.deadline = deadline;
      row.appendChild(countdown);
    }
    row.addEventListener("click", () => openConversation(conversation.id));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") { openConversation(conversation.id); } });
    list.appendChild(row);
  }
  tick();
}

async function loadDetail(id, render = true, opened = false) {
  const detail = await attempt(() => api.conversation(id, opened));
  if (!detail) { return null; }
  state.details.set(id, detail);
  if (render && id === state.openId) { renderConversation(detail); }
  return detail;
}

async function openConversation(id) {
  state.openId = id;
  loadPicker(id); // canned replies rendered for this client
  state.unread.delete(id);
  const detail = await loadDetail(id, false, true); // an open is audited; the refreshes after it are not
  if (!detail) { return; }
  renderConversation(detail);
  renderConversations();
  const question = detail.ticket ? detail.ticket.question : lastClientText(detail);
  if (question) {
    $("kb-query").value = question;
    searchKb();
  }
}

function lastClientText(detail) {
  const mine = detail.transcript.filter((m) => m.sender === "client");
  return mine.length ? mine[mine.length - 1].text : "";
}

// ------------------------------------------------------------------ conversation view

function renderConversation(detail) {
  show($("empty"), false);
  show($("conversation-view"), true);
  const { conversation, client, ticket } = detail;
  $("conv-title").textContent = `${client.name}（${client.id}）`;
  $("conv-state").textContent = STATE_LABELS[conversation.state] || conversation.state;
  $("conv-state").dataset.state = conversation.state;
  $("conv-question").textContent = ticket
    ? `${REASON_LABELS[ticket.reason] || ticket.reason}：${ticket.question}` : "";
  const deadline = $("conv-deadline");
  deadline.dataset.deadline = ticket && conversation.state === "awaiting_responder" ? ticket.responder_deadline || "" : "";
  show(deadline, Boolean(deadline.dataset.deadline));
  const transcript = $("transcript");
  transcript.textContent = "";
  detail.transcript.forEach((message) => appendMessage(message));
  const older = (before) => attempt(() => api.conversation(conversation.id, false, before));
  showOlder(transcript, detail.has_older, older, appendMessage);
  renderProfile(client, conversation);
  renderActions(conversation);
  tick();
}

function appendMessage(message) {
  const transcript = $("transcript");
  if (transcript.querySelector(`[data-seq="${message.seq}"]`)) { return; }
  const item = el("div", `msg ${message.sender}`);
  item.dataset.seq = String(message.seq);
  item.dataset.sender = message.sender;
  const head = el("div", "msg-head");
  head.appendChild(el("span", "who", SENDER_LABELS[message.sender] || message.sender));
  head.appendChild(el("span", "at", time(message.created_at || message.at)));
  item.appendChild(head);
  item.appendChild(el("div", "text", message.text));
  const payload = message.payload || {};
  if (message.sender === "bot" && payload.faq_id) {
    const score = typeof payload.score === "number" ? `，相似度 ${payload.score.toFixed(2)}` : "";
    item.appendChild(el("div", "faq", `引用FAQ：${payload.question || ""}（${payload.faq_id}${score}）`));
  }
  if (message.sender === "bot" && payload.type === "suggestions" && Array.isArray(payload.suggestions)) {
    item.appendChild(el("div", "faq", `推荐问题：${payload.suggestions.map((s) => s.question).join("；")}`));
  }
  if (message.sender === "bot" && payload.type === "escalate") {
    item.appendChild(el("div", "faq", `转人工原因：${REASON_LABELS[payload.reason] || payload.reason}`));
  }
  const later = [...transcript.querySelectorAll("[data-seq]")].find((node) => Number(node.dataset.seq) > message.seq);
  transcript.insertBefore(item, later || null);
  transcript.scrollTop = transcript.scrollHeight;
}

function renderProfile(client, conversation) {
  show($("profile"), true);
  const fields = $("profile-fields");
  fields.textContent = "";
  const rows = [
    ["客户", `${client.name}`],
    ["客户号", client.id],
    ["等级", client.tier],
    ["VIP", client.vip ? "是" : "否"],
    ["营业部", client.branch],
    ["专属响应人", client.responder_id],
    ["企业微信", client.wecom_id || "未绑定"],
    ["当前层级", `第 ${conversation.tier} 层`],
  ];
  for (const [name, value] of rows) {
    fields.appendChild(el("dt", null, name));
    const cell = el("dd", null, value);
    if (name === "VIP" && client.vip) { cell.className = "vip-text"; }
    fields.appendChild(cell);
  }
}

function renderActions(conversation) {
  const mine = conversation.assignee_id === state.staff.id;
  const supervisor = SUPERVISORS.has(state.staff.role);
  const tier2Live = conversation.state === "with_agent" && (mine || supervisor);
  const canReply = ["with_agent", "with_responder", "awaiting_responder"].includes(conversation.state);
  $("btn-resolve").disabled = !(["with_agent", "with_responder"].includes(conversation.state) && (mine || supervisor));
  $("btn-unresolved").disabled = !tier2Live;
  $("btn-escalate").disabled = !(tier2Live || (conversation.state === "queued" && supervisor));
  $("btn-transfer-queue").disabled = !(tier2Live || conversation.state === "queued");
  $("btn-transfer-queue").textContent = `转至${conversation.queue === "advisor" ? "客服" : "投顾"}队列`;
  renderTransferTargets(conversation);
  $("btn-transfer-staff").disabled = !tier2Live;
  $("send-reply").disabled = !canReply;
  $("reply-text").disabled = !canReply;
}

// Colleagues who serve the conversation's queue; typing a staff id is the fallback when none are listed.
function renderTransferTargets(conversation) {
  const select = $("transfer-staff");
  const chosen = select.value;
  select.length = 1;
  const targets = state.colleagues.filter(
    (member) => member.id !== conversation.assignee_id && TIER2.has(member.role)
      && (!conversation.queue || member.skills.includes(conversation.queue)),
  );
  for (const member of targets) {
    const option = el("option", null, `${member.name}（${member.id}，${ROLE_LABELS[member.role] || member.role}）`);
    option.value = member.id;
    select.appendChild(option);
  }
  if (targets.some((member) => member.id === chosen)) { select.value = chosen; }
  const listed = targets.length > 0;
  show(select, listed);
  show($("transfer-staff-id"), !listed);
  select.disabled = !listed;
}

function transferTarget() {
  const select = $("transfer-staff");
  if (!select.classList.contains("hidden")) {
    const option = select.selectedOptions[0];
    return { id: select.value, name: option && select.value ? option.textContent : "" };
  }
  const typed = $("transfer-staff-id").value.trim();
  return { id: typed, name: typed };
}

// The entry used or marked as the answer goes to the knowledge editors' review (errors are not the agent's problem).
async function labelAnswer(faqId, source) {
  if (!state.openId) { return; }
  try {
    await api.learningLabel(state.openId, faqId, source);
  } catch (error) {
    console.warn("answer label not stored", error);
  }
}

async function act(action, success) {
  const id = state.openId;
  if (!id) { return; }
  const result = await attempt(() => action(id), success);
  if (result) {
    await refreshConversations();
    if (state.conversations.some((c) => c.id === id)) {
      await loadDetail(id);
    } else {
      closeView();
    }
    refreshQueues();
    refreshMe();
  }
}

function closeView() {
  state.openId = null;
  show($("conversation-view"), false);
  show($("empty"), true);
  show($("profile"), false);
  renderConversations();
}

async function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (!text || !state.openId) { return; }
  const message = await attempt(() => api.reply(state.openId, text));
  if (message) {
    $("reply-text").value = "";
    appendMessage(message);
    loadDetail(state.openId);
    refreshConversations();
  }
}

function typing() {
  const now = Date.now();
  if (!state.openId || now - state.lastTypingSent < 2000) { return; }
  state.lastTypingSent = now;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "typing", conversation_id: state.openId }));
  }
}

// ------------------------------------------------------------------ agent assist

async function searchKb(event) {
  if (event) { event.preventDefault(); }
  const query = $("kb-query").value.trim();
  const list = $("kb-results");
  list.textContent = "";
  if (!query) { return; }
  let hits;
  try {
    hits = await api.kbSearch(query);
  } catch (error) {
    list.appendChild(el("li", "empty-row", error.status === 503 ? "知识库暂不可用" : `搜索失败：${error.message}`));
    return;
  }
  if (!hits.length) { list.appendChild(el("li", "empty-row", "没有找到相关答案")); }
  for (const hit of hits) {
    const row = el("li", "kb-hit");
    row.dataset.faq = hit.faq_id;
    row.appendChild(el("div", "kb-question", `${hit.question}（${hit.score.toFixed(2)}）`));
    row.appendChild(el("div", "kb-answer", hit.answer));
    const use = el("button", "use", "使用此答案");
    use.type = "button";
    use.addEventListener("click", () => {
      $("reply-text").value = hit.answer;
      $("reply-text").focus();
      $("resolve-faq").value = hit.faq_id;
      labelAnswer(hit.faq_id, "agent_assist");
    });
    row.appendChild(use);
    list.appendChild(row);
  }
}

// ------------------------------------------------------------------ live events

function connect() {
  const url = new URL("/ws/console", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", session.token);
  const socket = new WebSocket(url);
  state.socket = socket;
  $("connection").textContent = "连接中…";
  socket.addEventListener("message", (event) => onEnvelope(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) { return; }
    state.socket = null;
    if (event.code === 4401) {  // expired or revoked: renew quietly, or sign in again
      renew().then((renewed) => {
        if (!renewed) { sessionEnded(); return; }
        if (!state.socket && session.token) { connect(); }
      });
      return;
    }
    if (!session.token) { return; }
    state.attempts += 1;
    const delay = Math.min(15000, 500 * 2 ** (state.attempts - 1));
    $("connection").textContent = "连接已断开，正在重连…";
    setTimeout(() => { if (session.token) { connect(); } }, delay);
  });
}

function onEnvelope(envelope) {
  if (envelope.type === "hello") {
    state.attempts = 0;
    $("connection").textContent = "实时连接正常";
    $("connection").dataset.live = "true";
    refreshAll();
  } else if (envelope.type === "resync") {
    refreshAll();
  } else if (envelope.type === "event") {
    onEvent(envelope.event);
  }
}

function onEvent(event) {
  const id = event.conversation_id;
  if (event.type === "message") {
    if (id === state.openId) {
      appendMessage({ seq: event.seq, sender: event.sender, text: event.text, payload: event.payload, at: event.at });
      if (event.sender === "client") { show($("typing"), false); }
    } else if (event.sender === "client") {
      state.unread.set(id, (state.unread.get(id) || 0) + 1);
      renderConversations();
    }
    if (!state.conversations.some((c) => c.id === id)) { scheduleRefresh(); }
    return;
  }
  if (event.type === "typing") {
    if (id === state.openId && event.sender === "client") {
      show($("typing"), true);
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => show($("typing"), false), 4000);
    }
    return;
  }
  if (event.type === "idle_warning") {
    if (event.staff_id === state.staff.id) { notify(`客户已等待您回复较长时间，${duration(event.seconds_left)}后该会话将重新排队`, "error"); }
    return;
  }
  if (event.type === "presence") { refreshMe(); return; }
  if (REFRESH_EVENTS.has(event.type)) {
    if (id) { state.details.delete(id); }
    if (id === state.openId) { loadDetail(id); }
    if (event.type === "agent_joined" && event.staff_id === state.staff.id && id !== state.openId) {
      notify(`新会话已分配给您`);
    }
    scheduleRefresh();
  }
}

// ------------------------------------------------------------------ clocks

function tick() {
  const now = Date.now();
  document.querySelectorAll(".waiting[data-base]").forEach((node) => {
    const seconds = Number(node.dataset.base) + (now - Number(node.dataset.since)) / 1000;
    node.textContent = `已等待 ${duration(seconds)}`;
  });
  document.querySelectorAll("[data-deadline]").forEach((node) => {
    if (!node.dataset.deadline) { return; }
    const left = (new Date(node.dataset.deadline).getTime() - now) / 1000;
    node.textContent = left > 0 ? `剩余 ${duration(left)}` : `已超时 ${duration(-left)}`;
    node.classList.toggle("overdue", left <= 0);
  });
}

// ------------------------------------------------------------------ supervisor view

function showTab(name) {
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

// ------------------------------------------------------------------ wiring

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", signOut);
$("presence").addEventListener("change", changePresence);
$("reply-form").addEventListener("submit", sendReply);
$("reply-text").addEventListener("input", typing);
$("reply-text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { $("reply-form").requestSubmit(); }
});
$("canned").addEventListener("change", () => {
  if ($("canned").value) {
    $("reply-text").value = $("canned").value;
    $("canned").value = "";
    $("reply-text").focus();
  }
});
$("kb-form").addEventListener("submit", searchKb);
$("btn-resolve").addEventListener("click", async () => {
  const faqId = $("resolve-faq").value.trim();
  if (faqId) { await labelAnswer(faqId, "resolve_marked"); }
  $("resolve-faq").value = "";
  await act(api.resolve, "已标记为已解决");
});
$("btn-unresolved").addEventListener("click", () => act(api.unresolved, "已转交专属响应人"));
$("btn-escalate").addEventListener("click", () => act(api.escalate, "已升级至专属响应人"));
$("btn-transfer-queue").addEventListener("click", () => {
  const detail = state.details.get(state.openId);
  const target = detail && detail.conversation.queue === "advisor" ? "service" : "advisor";
  act((id) => api.transferToQueue(id, target), `已转至${QUEUE_LABELS[target]}`);
});
$("btn-transfer-staff").addEventListener("click", () => {
  const target = transferTarget();
  if (!target.id) { notify(state.colleagues.length ? "请选择同事" : "请输入同事工号", "error"); return; }
  act((id) => api.transferToStaff(id, target.id), `已转给 ${target.name}`);
});
$("tab-work").addEventListener("click", () => showTab("work"));
$("tab-stats").addEventListener("click", () => showTab("stats"));
$("tab-reports").addEventListener("click", () => showTab("reports"));

start();

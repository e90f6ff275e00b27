// The staff member's presence and load, and the queue list (VIP first) with its 接入 buttons.

import { api } from "./api.js";
import { openConversation, refreshConversations } from "./conversations.js";
import { QUEUE_LABELS, REASON_LABELS, TIER2 } from "./labels.js";
import { scheduleRefresh } from "./refresh.js";
import { state } from "./state.js";
import { $, attempt, duration, el } from "./ui.js";

export async function refreshMe() {
  const me = await attempt(() => api.me());
  if (!me) { return; }
  state.me = me;
  $("presence").value = me.presence;
  $("load").textContent = `接待 ${me.active} / ${me.max_concurrency}`;
  $("load").dataset.active = String(me.active);
}

export async function changePresence() {
  await attempt(() => api.presence($("presence").value), "状态已更新");
  scheduleRefresh();
}

export async function refreshQueues() {
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

// The staff member's conversations (the left-hand list), their details, and opening or closing one.

import { api } from "./api.js";
import { searchKb } from "./assist.js";
import { loadPicker } from "./canned.js";
import { renderConversation } from "./conversation.js";
import { STATE_LABELS } from "./labels.js";
import { state } from "./state.js";
import { $, attempt, el, show, tick } from "./ui.js";

export async function refreshConversations() {
  const conversations = await attempt(() => api.conversations());
  if (!conversations) { return; }
  state.conversations = conversations;
  await Promise.all(conversations.filter((c) => !state.details.has(c.id)).map((c) => loadDetail(c.id, false)));
  renderConversations();
}

export function renderConversations() {
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

/** Fetch a conversation's detail into the cache; redrawn when it is the open one (and `render`). */
export async function loadDetail(id, render = true, opened = false) {
  const detail = await attempt(() => api.conversation(id, opened));
  if (!detail) { return null; }
  state.details.set(id, detail);
  if (render && id === state.openId) { renderConversation(detail); }
  return detail;
}

export async function openConversation(id) {
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

export function closeView() {
  state.openId = null;
  show($("conversation-view"), false);
  show($("empty"), true);
  show($("profile"), false);
  renderConversations();
}

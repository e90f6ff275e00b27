// Live events over /ws/console: connecting (and renewing or reconnecting), and what each event changes.

import { renew, session } from "./api.js";
import { appendMessage } from "./conversation.js";
import { loadDetail, renderConversations } from "./conversations.js";
import { refreshMe } from "./queue.js";
import { refreshAll, scheduleRefresh } from "./refresh.js";
import { sessionEnded } from "./startup.js";
import { state } from "./state.js";
import { $, duration, notify, show } from "./ui.js";

const REFRESH_EVENTS = new Set([
  "queued", "position_changed", "agent_joined", "escalated", "transferred", "resolved", "closed", "reopened",
]);

export function connect() {
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

// A renewed token: the socket reconnects with it (the old one would close when its token expires).
export function reconnectWithRenewedToken() {
  if (!state.socket) { return; }
  const old = state.socket;
  state.socket = null;
  old.close(1000, "token renewed");
  connect();
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

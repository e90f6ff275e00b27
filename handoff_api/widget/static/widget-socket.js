// The one WebSocket to /ws/widget: connect, reconnect with backoff, and what each close code means.

import { onMessage } from "./widget-protocol.js";
import { config, forgetConversation, state, storedConversation } from "./widget-state.js";
import { setConnection, showBanner } from "./widget-status.js";
import { renewToken } from "./widget-token.js";
import { resetTranscript } from "./widget-transcript.js";

var ERROR_CLOSE_TEXT = {
  1008: "发送过于频繁，连接已断开，正在重连…",
  1009: "消息过大，连接已断开，正在重连…",
  1003: "不支持的消息格式，正在重连…"
};

/** Send an envelope if the socket is open; false if it is not (the caller keeps or drops it). */
export function send(envelope) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(envelope));
    return true;
  }
  return false;
}

function socketUrl() {
  var url = new URL(config.api + "/ws/widget");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", config.token);
  var conversation = state.conversationId || storedConversation();
  if (conversation) { url.searchParams.set("conversation_id", conversation); }
  return url.toString();
}

export function connect() {
  clearTimeout(state.reconnectTimer);
  if (state.stopped || !config.token) {
    setConnection("缺少身份凭证，无法连接");
    return;
  }
  state.resumed = false;
  setConnection(state.attempts ? "正在重新连接…" : "正在连接…");
  var socket = new WebSocket(socketUrl());
  state.socket = socket;
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", function (event) {
    if (state.socket !== socket) { return; }
    state.socket = null;
    onClose(event);
  });
}

function onClose(event) {
  if (event.code === 4401) {
    renewToken(event.reason);
    return;
  }
  if (event.code === 4409) {  // a newer session of this client (another tab) took over: never fight it
    setConnection("已在其他窗口打开，此窗口已断开");
    return;
  }
  if (event.code === 4403) {
    forgetConversation();
    state.conversationId = null;
    resetTranscript();
  }
  if (ERROR_CLOSE_TEXT[event.code]) { showBanner(ERROR_CLOSE_TEXT[event.code]); }
  scheduleReconnect();
}

function scheduleReconnect() {
  state.attempts += 1;
  var delay = Math.min(15000, 500 * Math.pow(2, state.attempts - 1));
  delay = delay / 2 + Math.random() * delay / 2;
  setConnection("连接已断开，" + Math.ceil(delay / 1000) + " 秒后重连…");
  state.reconnectTimer = setTimeout(connect, delay);
}

/** Close the socket with `code` and `reason` if one is open, else connect now (the close handler reconnects). */
export function reconnect(code, reason) {
  if (state.socket) { state.socket.close(code, reason); } else { connect(); }
}

// The transcript: messages in seq order, the client's own messages while they are being sent, older pages.

import { send } from "./widget-socket.js";
import { state } from "./widget-state.js";
import { el, scrollDown, view } from "./widget-view.js";

function senderClass(sender) {
  if (sender === "client") { return "me"; }
  if (sender === "system") { return "notice"; }
  return "them " + sender;
}

function senderLabel(message) {
  if (message.sender === "bot") { return "智能助手"; }
  if (message.sender === "agent") { return "在线服务"; }
  if (message.sender === "responder") { return "专属响应人"; }
  return "";
}

/** A stored message, once: a pending one of the client's becomes it, any other is inserted by seq. */
export function renderMessage(message) {
  if (state.bySeq.has(message.seq)) { return; }
  var pending = adoptPending(message);
  var item = pending ? pending.el : el("div", "msg " + senderClass(message.sender));
  item.dataset.seq = String(message.seq);
  item.dataset.sender = message.sender;
  item.classList.remove("sending", "failed");
  if (!pending) {
    var label = senderLabel(message);
    if (label) { item.appendChild(el("div", "who", label)); }
    item.appendChild(el("div", "text", message.text));
    var payload = message.payload || {};
    if (message.sender === "bot" && payload.type === "answer" && payload.question) {
      item.appendChild(el("div", "source", "参考问题：" + payload.question));
    }
    insertInOrder(item, message.seq);
  }
  state.bySeq.set(message.seq, item);
  if (message.seq > state.lastSeq) { state.lastSeq = message.seq; }
  if (message.sender === "client") {
    state.lastClientSeq = Math.max(state.lastClientSeq, message.seq);
    clearActions();
  }
  scrollDown();
}

// A page of older messages (a long conversation opens on its newest): shown above, no chips or buttons.
export function renderOlder(message) {
  if (state.bySeq.has(message.seq)) { return; }
  var item = el("div", "msg " + senderClass(message.sender));
  item.dataset.seq = String(message.seq);
  item.dataset.sender = message.sender;
  var label = senderLabel(message);
  if (label) { item.appendChild(el("div", "who", label)); }
  item.appendChild(el("div", "text", message.text));
  insertInOrder(item, message.seq);
  state.bySeq.set(message.seq, item);
}

export function showOlderControl(hasOlder) {
  var transcript = view.transcript;
  var old = transcript.querySelector(".older");
  if (old) { old.remove(); }
  if (!hasOlder) { return; }
  var button = el("button", "older", "查看更早的消息");
  button.type = "button";
  button.addEventListener("click", function () {
    var first = transcript.querySelector(".msg[data-seq]");
    button.disabled = true;
    send({ type: "older", before: first ? Number(first.dataset.seq) : 1 });
  });
  transcript.insertBefore(button, transcript.firstChild);
}

function insertInOrder(item, seq) {
  var transcript = view.transcript;
  var nodes = transcript.querySelectorAll(".msg[data-seq]");
  for (var i = 0; i < nodes.length; i += 1) {
    if (Number(nodes[i].dataset.seq) > seq) {
      transcript.insertBefore(item, nodes[i]);
      return;
    }
  }
  var firstPending = transcript.querySelector(".msg.sending, .msg.failed");
  transcript.insertBefore(item, firstPending);
}

function adoptPending(message) {
  if (message.sender !== "client" || state.pending.length === 0) { return null; }
  var index = -1;
  if (message.client_msg_id) {
    index = state.pending.findIndex(function (p) { return p.id === message.client_msg_id; });
  }
  if (index < 0) {
    index = state.pending.findIndex(function (p) { return p.text === message.text && p.sentAfter < message.seq; });
  }
  if (index < 0) { return null; }
  return state.pending.splice(index, 1)[0];
}

/** A message of the client's the server refused: marked failed, not sent again. */
export function markFailed(id, code) {
  var pending = state.pending.find(function (p) { return p.id === id; });
  if (!pending || code === "bot_unavailable") { return; }
  pending.el.classList.add("failed");
  state.pending = state.pending.filter(function (p) { return p !== pending; });
}

/** Feedback buttons and suggestion chips answer the last reply only: gone once the client writes again. */
export function clearActions() {
  view.transcript.querySelectorAll(".actions").forEach(function (node) { node.remove(); });
  view.chips.classList.add("hidden");
  view.chips.textContent = "";
}

export function resetTranscript() {
  state.bySeq.clear();
  state.lastSeq = 0;
  state.lastClientSeq = 0;
  view.transcript.textContent = "";
  clearActions();
}

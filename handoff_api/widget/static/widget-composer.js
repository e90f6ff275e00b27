// The composer: typing, sending (shown at once, confirmed by the server's copy), 转人工 and 开始新的咨询.

import { send, reconnect } from "./widget-socket.js";
import { forgetConversation, state } from "./widget-state.js";
import { hideBanner } from "./widget-status.js";
import { clearActions, resetTranscript } from "./widget-transcript.js";
import { el, scrollDown, view } from "./widget-view.js";

function newId() {
  if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
  return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

/** Show the client's message as sending and send it once the session has resumed (else on resume). */
export function sendText(text) {
  var clean = text.trim();
  if (!clean) { return; }
  state.lastTypingSent = 0;
  var pending = { id: newId(), text: clean, el: el("div", "msg me sending"), sentAfter: state.lastSeq };
  pending.el.appendChild(el("div", "text", clean));
  view.transcript.appendChild(pending.el);
  state.pending.push(pending);
  clearActions();
  scrollDown();
  if (state.resumed) { send({ type: "message", text: clean, client_msg_id: pending.id }); }
}

/** After a (re)connect: messages not yet confirmed go again, with their ids (the server drops repeats). */
export function resendPending() {
  state.pending.slice().forEach(function (pending) {
    send({ type: "message", text: pending.text, client_msg_id: pending.id });
  });
}

export function wireComposer() {
  var composer = view.composer;
  var input = view.input;
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    sendText(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - state.lastTypingSent > 2000 && input.value.trim()) {
      state.lastTypingSent = now;
      send({ type: "typing" });
    }
  });
  view.humanButton.addEventListener("click", function () { send({ type: "ask_human" }); });
  view.restart.addEventListener("click", function () {
    forgetConversation();
    state.conversationId = null;
    resetTranscript();
    hideBanner();
    reconnect(1000, "restart");
  });
}

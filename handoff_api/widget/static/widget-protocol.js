// What the server sends: one handler per envelope type (handoff_api/widget/envelopes.py).

import { resendPending } from "./widget-composer.js";
import { showFeedback, showRated, showSuggestions } from "./widget-feedback.js";
import { send } from "./widget-socket.js";
import { forgetConversation, rememberConversation, state } from "./widget-state.js";
import {
  hideBanner, hideTyping, setConnection, setStatus, showAgent, showBanner, showQueue, showTyping
} from "./widget-status.js";
import { markFailed, renderMessage, renderOlder, showOlderControl } from "./widget-transcript.js";
import { view } from "./widget-view.js";

var handlers = {
  session: function (e) {
    state.conversationId = e.conversation_id;
    state.clientId = e.client_id;
    rememberConversation(e.conversation_id);
    setStatus(e.state);
    if (e.limits && e.limits.max_chars) { view.input.maxLength = e.limits.max_chars; }
    send({ type: "resume", last_seq: state.lastSeq });
  },
  resumed: function (e) {
    if (e.has_older) { showOlderControl(true); }  // a fresh widget opened on the newest page
    state.resumed = true;
    state.attempts = 0;
    state.renewals = 0;
    hideBanner();
    resendPending();
  },
  message: function (e) {
    renderMessage(e);
    if (e.sender !== "client") { hideTyping(); }
  },
  ack: function (e) {
    var index = state.pending.findIndex(function (p) { return p.id === e.client_msg_id; });
    if (index >= 0 && state.bySeq.has(e.seq)) {
      var extra = state.pending.splice(index, 1)[0];
      extra.el.remove();
    }
  },
  older: function (e) {
    var transcript = view.transcript;
    var top = transcript.scrollHeight - transcript.scrollTop;
    (e.messages || []).forEach(renderOlder);
    transcript.scrollTop = transcript.scrollHeight - top;  // keep the reader where they were
    showOlderControl(Boolean(e.has_older));
  },
  suggestions: function (e) { showSuggestions(e.seq, e.items || []); },
  feedback_request: function (e) { showFeedback(e.seq); },
  queue_position: function (e) { setStatus("queued"); showQueue(e); },
  agent_joined: function (e) { showAgent(e); },
  handoff: function (e) {
    setStatus(e.state);
    showBanner(e.notice);
  },
  typing: function (e) { showTyping(e); },
  closed: function (e) {
    setStatus("closed");
    showBanner(e.notice);
    forgetConversation();
  },
  error: function (e) {
    if (e.code === "token_expired") { setConnection("正在重新验证身份…"); return; }
    showBanner(e.message);
    if (e.client_msg_id) { markFailed(e.client_msg_id, e.code); }
  },
  rated: function () { showRated(); },
  pong: function () {}
};

/** One frame from the socket: JSON, dispatched by its type (unknown types are ignored). */
export function onMessage(event) {
  var envelope;
  try { envelope = JSON.parse(event.data); } catch (e) { return; }
  var handler = handlers[envelope.type];
  if (handler) { handler(envelope); }
}

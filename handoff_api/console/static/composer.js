// The reply box: sending a reply, the typing signal to the client, canned replies and Ctrl+Enter.

import { api } from "./api.js";
import { appendMessage } from "./conversation.js";
import { loadDetail, refreshConversations } from "./conversations.js";
import { state } from "./state.js";
import { $, attempt } from "./ui.js";

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

// At most one typing signal every 2 s, over the live socket.
function typing() {
  const now = Date.now();
  if (!state.openId || now - state.lastTypingSent < 2000) { return; }
  state.lastTypingSent = now;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "typing", conversation_id: state.openId }));
  }
}

export function wireComposer() {
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
}

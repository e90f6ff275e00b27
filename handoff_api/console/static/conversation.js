// The open conversation: its header, transcript, the client's profile and which actions are allowed.

import { api } from "./api.js";
import { REASON_LABELS, ROLE_LABELS, SENDER_LABELS, STATE_LABELS, SUPERVISORS, TIER2 } from "./labels.js";
import { showOlder } from "./older.js";
import { state } from "./state.js";
import { $, attempt, el, show, tick, time } from "./ui.js";

export function renderConversation(detail) {
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

/** One message into the transcript, in seq order, once; bot answers show the FAQ they cite. */
export function appendMessage(message) {
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

/** The colleague chosen (or typed) for 转给同事: {id, name}, id empty when none. */
export function transferTarget() {
  const select = $("transfer-staff");
  if (!select.classList.contains("hidden")) {
    const option = select.selectedOptions[0];
    return { id: select.value, name: option && select.value ? option.textContent : "" };
  }
  const typed = $("transfer-staff-id").value.trim();
  return { id: typed, name: typed };
}

// The header's status line, the notice banner, the queue bar and the typing line.

import { showFeedback } from "./widget-feedback.js";
import { state } from "./widget-state.js";
import { view } from "./widget-view.js";

var STATUS_TEXT = {
  bot: "智能助手为您服务",
  resolved: "智能助手为您服务",
  queued: "排队等待人工服务",
  with_agent: "人工服务中",
  awaiting_responder: "已转交专属响应人",
  with_responder: "专属响应人服务中",
  closed: "会话已结束"
};

function minutes(seconds) {
  if (seconds === null || seconds === undefined) { return "暂无法估算等待时间"; }
  if (seconds < 60) { return "预计等待不到 1 分钟"; }
  return "预计等待约 " + Math.round(seconds / 60) + " 分钟";
}

export function showBanner(text) {
  view.banner.textContent = text;
  view.banner.classList.remove("hidden");
}

export function hideBanner() { view.banner.classList.add("hidden"); }

/** The conversation's state: the status line, which controls are usable, and a deferred rating prompt. */
export function setStatus(status) {
  state.status = status;
  view.statusLine.textContent = STATUS_TEXT[status] || "";
  var humanPossible = status === "bot" || status === "resolved";
  view.humanButton.disabled = !humanPossible;
  var over = status === "closed";
  view.restart.classList.toggle("hidden", !over);
  view.input.disabled = over;
  view.sendButton.disabled = over;
  if (status !== "queued") { view.queueBar.classList.add("hidden"); }
  if (state.deferredFeedback !== null && status !== "queued" && status !== "awaiting_responder") {
    showFeedback(state.deferredFeedback);
  }
}

/** A connection notice in the status line; none puts the conversation's state back. */
export function setConnection(text) {
  view.statusLine.textContent = text || STATUS_TEXT[state.status] || "";
}

export function showQueue(envelope) {
  var ahead = envelope.position ? "您当前排在第 " + envelope.position + " 位" : "正在排队";
  view.queueBar.textContent = envelope.queue_label + "：" + ahead + "，" + minutes(envelope.estimated_wait_seconds);
  view.queueBar.dataset.position = String(envelope.position || "");
  view.queueBar.classList.remove("hidden");
}

export function showTyping(envelope) {
  view.typingLine.textContent = (envelope.name || "对方") + "正在输入…";
  view.typingLine.classList.remove("hidden");
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(function () { view.typingLine.classList.add("hidden"); }, 4000);
}

export function hideTyping() { view.typingLine.classList.add("hidden"); }

export function showAgent(envelope) {
  var number = envelope.practice_number ? "（执业编号：" + envelope.practice_number + "）" : "";
  view.statusLine.textContent = envelope.role_label + " " + envelope.name + number + " 为您服务";
}

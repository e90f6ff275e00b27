// The open conversation's actions: resolve, unresolved, escalate, transfer to the other queue or a colleague.

import { api } from "./api.js";
import { labelAnswer } from "./assist.js";
import { transferTarget } from "./conversation.js";
import { closeView, loadDetail, refreshConversations } from "./conversations.js";
import { QUEUE_LABELS } from "./labels.js";
import { refreshMe, refreshQueues } from "./queue.js";
import { state } from "./state.js";
import { $, attempt, notify } from "./ui.js";

/** Run an action on the open conversation, then reload; the view closes if it is no longer the staff's. */
async function act(action, success) {
  const id = state.openId;
  if (!id) { return; }
  const result = await attempt(() => action(id), success);
  if (result) {
    await refreshConversations();
    if (state.conversations.some((c) => c.id === id)) {
      await loadDetail(id);
    } else {
      closeView();
    }
    refreshQueues();
    refreshMe();
  }
}

export function wireActions() {
  $("btn-resolve").addEventListener("click", async () => {
    const faqId = $("resolve-faq").value.trim();
    if (faqId) { await labelAnswer(faqId, "resolve_marked"); }
    $("resolve-faq").value = "";
    await act(api.resolve, "已标记为已解决");
  });
  $("btn-unresolved").addEventListener("click", () => act(api.unresolved, "已转交专属响应人"));
  $("btn-escalate").addEventListener("click", () => act(api.escalate, "已升级至专属响应人"));
  $("btn-transfer-queue").addEventListener("click", () => {
    const detail = state.details.get(state.openId);
    const target = detail && detail.conversation.queue === "advisor" ? "service" : "advisor";
    act((id) => api.transferToQueue(id, target), `已转至${QUEUE_LABELS[target]}`);
  });
  $("btn-transfer-staff").addEventListener("click", () => {
    const target = transferTarget();
    if (!target.id) { notify(state.colleagues.length ? "请选择同事" : "请输入同事工号", "error"); return; }
    act((id) => api.transferToStaff(id, target.id), `已转给 ${target.name}`);
  });
}

// Reloading what the live events say has changed: everything at once, or a short-delayed batch.

import { loadDetail, refreshConversations } from "./conversations.js";
import { refreshMe, refreshQueues } from "./queue.js";
import { state } from "./state.js";

export async function refreshAll() {
  await Promise.all([refreshMe(), refreshQueues(), refreshConversations()]);
  if (state.openId) { await loadDetail(state.openId); }
}

/** Many events in a burst cost one reload (150 ms after the last). */
export function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    refreshMe();
    refreshQueues();
    refreshConversations();
  }, 150);
}

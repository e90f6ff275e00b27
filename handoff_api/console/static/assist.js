// Agent assist: knowledge-base search for the open conversation, and labelling the answer used.

import { api } from "./api.js";
import { state } from "./state.js";
import { $, el } from "./ui.js";

// The entry used or marked as the answer goes to the knowledge editors' review (errors are not the agent's problem).
export async function labelAnswer(faqId, source) {
  if (!state.openId) { return; }
  try {
    await api.learningLabel(state.openId, faqId, source);
  } catch (error) {
    console.warn("answer label not stored", error);
  }
}

export async function searchKb(event) {
  if (event) { event.preventDefault(); }
  const query = $("kb-query").value.trim();
  const list = $("kb-results");
  list.textContent = "";
  if (!query) { return; }
  let hits;
  try {
    hits = await api.kbSearch(query);
  } catch (error) {
    list.appendChild(el("li", "empty-row", error.status === 503 ? "知识库暂不可用" : `搜索失败：${error.message}`));
    return;
  }
  if (!hits.length) { list.appendChild(el("li", "empty-row", "没有找到相关答案")); }
  for (const hit of hits) {
    const row = el("li", "kb-hit");
    row.dataset.faq = hit.faq_id;
    row.appendChild(el("div", "kb-question", `${hit.question}（${hit.score.toFixed(2)}）`));
    row.appendChild(el("div", "kb-answer", hit.answer));
    const use = el("button", "use", "使用此答案");
    use.type = "button";
    use.addEventListener("click", () => {
      $("reply-text").value = hit.answer;
      $("reply-text").focus();
      $("resolve-faq").value = hit.faq_id;
      labelAnswer(hit.faq_id, "agent_assist");
    });
    row.appendChild(use);
    list.appendChild(row);
  }
}

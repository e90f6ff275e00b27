// Knowledge editors' page: review candidates in batches, turn gaps into draft FAQ entries, watch index versions.
import { api, session, whenUnauthorized } from "/console/static/api.js";

const $ = (id) => document.getElementById(id);
const KINDS = { phrasing: "问法", entry: "新条目" };
const SOURCES = {
  client_confirmed: "客户确认已解答", agent_assist: "坐席使用答案", resolve_marked: "解决时标记", gap_draft: "缺口起草",
};
const STATUSES = { pending: "待构建", building: "构建中", ready: "已上线", failed: "构建失败" };
let rows = [];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

function notify(text, error = false) {
  $("notice").textContent = text;
  $("notice").classList.toggle("error", error);
}

function show(name) {
  for (const view of ["review", "gaps", "versions"]) {
    $(`view-${view}`).classList.toggle("hidden", view !== name);
    $(`tab-${view}`).classList.toggle("active", view === name);
  }
  ({ review: loadReview, gaps: loadGaps, versions: loadVersions })[name]();
}

async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    notify(error.status === 403 ? "仅知识库编辑（主管）可使用此页面" : `操作失败：${error.message}`, true);
    return null;
  }
}

// ------------------------------------------------------------------ review
async function loadReview() {
  const items = await guarded(() => api.learningReview("pending"));
  if (!items) { return; }
  rows = items;
  const body = $("review-rows");
  body.replaceChildren();
  if (!items.length) { body.appendChild(el("tr")).appendChild(el("td", "empty-row", "暂无待审核内容")).colSpan = 7; }
  for (const item of items) {
    const tr = el("tr");
    tr.dataset.id = item.id;
    const pick = el("input");
    pick.type = "checkbox";
    pick.className = "pick";
    tr.appendChild(el("td")).appendChild(pick);
    tr.appendChild(el("td", "", KINDS[item.kind] || item.kind));
    const text = el("input", "text");
    text.value = item.text;
    text.maxLength = 500;
    text.disabled = item.kind === "entry";
    const cell = el("td");
    cell.appendChild(text);
    if (item.entry) { cell.appendChild(el("div", "answer", `答案：${item.entry.answer}`)); }
    tr.appendChild(cell);
    const faq = el("input", "faq");
    faq.value = item.faq_id || "";
    faq.maxLength = 64;
    faq.disabled = item.kind === "entry";
    tr.appendChild(el("td")).appendChild(faq);
    tr.appendChild(el("td", "", SOURCES[item.source] || item.source));
    tr.appendChild(el("td", "", item.actor));
    tr.appendChild(el("td", "", new Date(item.created_at).toLocaleString("zh-CN")));
    body.appendChild(tr);
  }
}

function decisions(action) {
  const chosen = [];
  for (const tr of $("review-rows").querySelectorAll("tr[data-id]")) {
    if (!tr.querySelector(".pick").checked) { continue; }
    const item = rows.find((row) => String(row.id) === tr.dataset.id);
    const text = tr.querySelector(".text").value.trim();
    const faqId = tr.querySelector(".faq").value.trim();
    const decision = { id: Number(tr.dataset.id), action };
    if (item && item.kind === "phrasing") {
      if (text && text !== item.text) { decision.text = text; }
      if (faqId && faqId !== item.faq_id) { decision.faq_id = faqId; }
      if (action === "edit" && decision.faq_id && !decision.text) { decision.action = "move"; }
    }
    chosen.push(decision);
  }
  return chosen;
}

async function decide(action, success) {
  const chosen = decisions(action);
  if (!chosen.length) { notify("请先勾选要处理的条目", true); return; }
  const result = await guarded(() => api.learningDecide(chosen));
  if (!result) { return; }
  notify(result.build ? `${success}；正在后台构建索引版本 ${result.build}，完成后自动上线` : success);
  await loadReview();
}

// ------------------------------------------------------------------ gaps
async function loadGaps() {
  const found = await guarded(() => api.learningGaps($("threshold").value));
  if (!found) { return; }
  $("gap-total").textContent = `共 ${found.questions} 个问题，${found.clusters.length} 个聚类`;
  const list = $("gap-list");
  list.replaceChildren();
  for (const cluster of found.clusters) {
    const item = el("li");
    item.appendChild(el("strong", "", `${cluster.size} 次 · ${cluster.question}`));
    const near = cluster.nearest ? `${cluster.nearest.id}（${cluster.nearest.question || ""}，${cluster.nearest.score}）` : "无";
    item.appendChild(el("div", "", `最接近的条目：${near}`));
    item.appendChild(el("div", "examples", `例句：${cluster.examples.join(" / ")}`));
    for (const answer of cluster.answers) { item.appendChild(el("div", "answers", `人工答复：${answer}`)); }
    const draft = el("button", "", "起草FAQ");
    draft.type = "button";
    draft.addEventListener("click", () => openDraft(cluster));
    item.appendChild(draft);
    list.appendChild(item);
  }
}

function openDraft(cluster) {
  const draft = cluster.draft;
  $("draft-id").value = "";
  if (draft.category) { $("draft-category").value = draft.category; }
  if (draft.queue) { $("draft-queue").value = draft.queue; }
  $("draft-question").value = draft.question;
  $("draft-similar").value = draft.similar.join("\n");
  $("draft-answer").value = cluster.answers[0] || draft.answer || "";
  $("draft-from").value = "";
  $("draft-to").value = "";
  $("draft-form").classList.remove("hidden");
  $("draft-question").focus();
}

async function submitDraft(event) {
  event.preventDefault();
  const entry = {
    id: $("draft-id").value.trim() || null,
    category: $("draft-category").value,
    queue: $("draft-queue").value,
    question: $("draft-question").value.trim(),
    similar: $("draft-similar").value.split("\n").map((line) => line.trim()).filter(Boolean),
    answer: $("draft-answer").value.trim(),
    valid_from: $("draft-from").value || null,
    valid_to: $("draft-to").value || null,
  };
  const result = await guarded(() => api.learningDraft(entry));
  if (!result) { return; }
  $("draft-form").classList.add("hidden");
  notify("草稿已提交，审核通过后上线");
}

// ------------------------------------------------------------------ versions
async function loadVersions() {
  const found = await guarded(() => api.learningVersions());
  if (!found) { return; }
  $("serving").textContent = `本实例索引版本：${found.serving ?? "初始"}`;
  const body = $("version-rows");
  body.replaceChildren();
  for (const version of found.versions) {
    const tr = el("tr");
    const finished = version.finished_at ? new Date(version.finished_at).toLocaleString("zh-CN") : "";
    for (const text of [version.version, STATUSES[version.status] || version.status, version.phrasings ?? "",
      version.entries ?? "", version.requested_by, finished, version.error || ""]) {
      tr.appendChild(el("td", "", String(text)));
    }
    body.appendChild(tr);
  }
}

// ------------------------------------------------------------------ wiring
whenUnauthorized(() => { window.location.href = "/console"; });
if (!session.token) {
  window.location.href = "/console";
} else {
  $("tab-review").addEventListener("click", () => show("review"));
  $("tab-gaps").addEventListener("click", () => show("gaps"));
  $("tab-versions").addEventListener("click", () => show("versions"));
  $("btn-approve").addEventListener("click", () => decide("approve", "已通过"));
  $("btn-reject").addEventListener("click", () => decide("reject", "已驳回"));
  $("btn-save").addEventListener("click", () => decide("edit", "修改已保存"));
  $("btn-reload").addEventListener("click", loadReview);
  $("btn-gaps").addEventListener("click", loadGaps);
  $("draft-form").addEventListener("submit", submitDraft);
  $("draft-cancel").addEventListener("click", () => $("draft-form").classList.add("hidden"));
  $("select-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll(".pick")) { box.checked = event.target.checked; }
  });
  show("review");
  loadVersions();
}

// Shared by the console's views: elements, the notice line, durations and the ticking clocks.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

export function show(node, visible) { node.classList.toggle("hidden", !visible); }

export function notify(text, kind = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.dataset.kind = kind;
  show(notice, true);
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => show(notice, false), 5000);
}

export function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  if (minutes >= 60) { return `${Math.floor(minutes / 60)}小时${minutes % 60}分`; }
  return minutes ? `${minutes}分${String(rest).padStart(2, "0")}秒` : `${rest}秒`;
}

export function time(iso) {
  return new Date(iso).toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Run an API call; a failure becomes an error notice and null. */
export async function attempt(action, success) {
  try {
    const result = await action();
    if (success) { notify(success); }
    return result;
  } catch (error) {
    notify(`操作失败：${error.message}`, "error");
    return null;
  }
}

/** Every second: waiting times in the queue and responder deadlines count on. */
export function tick() {
  const now = Date.now();
  document.querySelectorAll(".waiting[data-base]").forEach((node) => {
    const seconds = Number(node.dataset.base) + (now - Number(node.dataset.since)) / 1000;
    node.textContent = `已等待 ${duration(seconds)}`;
  });
  document.querySelectorAll("[data-deadline]").forEach((node) => {
    if (!node.dataset.deadline) { return; }
    const left = (new Date(node.dataset.deadline).getTime() - now) / 1000;
    node.textContent = left > 0 ? `剩余 ${duration(left)}` : `已超时 ${duration(-left)}`;
    node.classList.toggle("overdue", left <= 0);
  });
}

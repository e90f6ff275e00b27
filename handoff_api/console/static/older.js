// Paging back through a long transcript: a 加载更早的消息 control above the first message shown, which
// reads the page before it (GET /conversations/{id}?before=SEQ) and keeps the reader's place.

export function showOlder(transcript, hasOlder, loadBefore, append) {
  const old = transcript.querySelector(".older");
  if (old) { old.remove(); }
  if (!hasOlder) { return; }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "older";
  button.textContent = "加载更早的消息";
  button.addEventListener("click", async () => {
    const first = transcript.querySelector("[data-seq]");
    button.disabled = true;
    const page = await loadBefore(first ? Number(first.dataset.seq) : 1);
    if (!page) { button.disabled = false; return; }
    const height = transcript.scrollHeight;
    const top = transcript.scrollTop;
    page.transcript.forEach(append);
    transcript.scrollTop = top + (transcript.scrollHeight - height);
    showOlder(transcript, page.has_older, loadBefore, append);
  });
  transcript.prepend(button);
}

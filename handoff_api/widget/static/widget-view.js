// The widget's elements, inside a shadow root so the host page's styles and the widget's never mix.

export var view = {};

export function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) { node.className = className; }
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

/** Build the launcher and the panel (not yet on the page) into `view`. */
export function buildView(api, title) {
  var host = el("div");
  host.id = "tre-widget";
  var root = host.attachShadow({ mode: "open" });
  var sheet = el("link");
  sheet.rel = "stylesheet";
  sheet.href = api + "/widget/widget.css";
  root.appendChild(sheet);

  var launcher = el("button", "launcher", "在线咨询");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "打开在线咨询");
  var panel = el("section", "panel hidden");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);

  var header = el("header", "header");
  var titles = el("div", "titles");
  titles.appendChild(el("div", "title", title));
  var statusLine = el("div", "status", "正在连接…");
  titles.appendChild(statusLine);
  var closeButton = el("button", "close", "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "收起");
  header.appendChild(titles);
  header.appendChild(closeButton);

  var banner = el("div", "banner hidden");
  banner.setAttribute("role", "status");
  var queueBar = el("div", "queue hidden");
  queueBar.setAttribute("aria-live", "polite");
  var transcript = el("div", "transcript");
  transcript.setAttribute("aria-live", "polite");
  var typingLine = el("div", "typing hidden");
  var chips = el("div", "chips hidden");

  var composer = el("form", "composer");
  var input = el("textarea", "input");
  input.rows = 1;
  input.placeholder = "请输入您的问题";
  input.setAttribute("aria-label", "输入消息");
  var humanButton = el("button", "human", "转人工");
  humanButton.type = "button";
  var sendButton = el("button", "send", "发送");
  sendButton.type = "submit";
  composer.appendChild(humanButton);
  composer.appendChild(input);
  composer.appendChild(sendButton);

  var restart = el("button", "restart hidden", "开始新的咨询");
  restart.type = "button";

  [header, banner, queueBar, transcript, typingLine, chips, restart, composer].forEach(function (node) {
    panel.appendChild(node);
  });
  root.appendChild(launcher);
  root.appendChild(panel);

  Object.assign(view, {
    host: host, launcher: launcher, panel: panel, statusLine: statusLine, closeButton: closeButton,
    banner: banner, queueBar: queueBar, transcript: transcript, typingLine: typingLine, chips: chips,
    composer: composer, input: input, humanButton: humanButton, sendButton: sendButton, restart: restart
  });
}

export function scrollDown() { view.transcript.scrollTop = view.transcript.scrollHeight; }

export function openPanel() {
  view.panel.classList.remove("hidden");
  view.launcher.classList.add("hidden");
  view.input.focus();
  scrollDown();
}

export function closePanel() {
  view.panel.classList.add("hidden");
  view.launcher.classList.remove("hidden");
}

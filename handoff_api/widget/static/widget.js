/* Tiered Response Engine chat widget: embed with one tag.
 *   <script src="https://api.example/widget/widget.js" data-api="https://api.example" data-token="<client token>"
 *           data-token-url="https://app.example/chat-token"></script>
 * Optional: data-title, data-open="true".
 *
 * Client tokens are short-lived. When the server closes the session with 4401 (e.g. "token expired"), the
 * widget renews its token and resumes the same conversation from the last message it showed:
 *   - with data-token-url, it POSTs to that URL with the page's cookies (credentials: "include") and expects
 *     JSON {"token": "<new client token>"} from the client app's backend;
 *   - otherwise (or if that fails) it dispatches a "tre-widget:auth-required" event on window, and the host
 *     page calls window.TREWidget.setToken(token).
 * A renewed token that is refused again stops the widget until setToken is called. No dependencies, no build step.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.TREWidget) { return; }
  var config = {
    api: (script.dataset.api || new URL(script.src).origin).replace(/\/+$/, ""),
    token: script.dataset.token || "",
    tokenUrl: script.dataset.tokenUrl || "",
    title: script.dataset.title || "智能投顾 · 在线咨询",
    open: script.dataset.open === "true"
  };

  var FEEDBACK = [
    { label: "问题已解答", resolved: true },
    { label: "问题未解答", resolved: false }
  ];
  var STATUS_TEXT = {
    bot: "智能助手为您服务",
    resolved: "智能助手为您服务",
    queued: "排队等待人工服务",
    with_agent: "人工服务中",
    awaiting_responder: "已转交专属响应人",
    with_responder: "专属响应人服务中",
    closed: "会话已结束"
  };
  var ERROR_CLOSE_TEXT = {
    1008: "发送过于频繁，连接已断开，正在重连…",
    1009: "消息过大，连接已断开，正在重连…",
    1003: "不支持的消息格式，正在重连…"
  };

  // ------------------------------------------------------------------ state
  var state = {
    socket: null,
    conversationId: null,
    clientId: null,
    lastSeq: 0,
    status: "bot",
    attempts: 0,
    reconnectTimer: null,
    stopped: false,
    resumed: false,
    pending: [],            // [{id, text, el, sentAfter}]
    bySeq: new Map(),       // seq -> message element
    feedbackSeq: 0,
    deferredFeedback: null,  // seq of an answer to rate once the state allows it
    lastClientSeq: 0,
    typingTimer: null,
    lastTypingSent: 0,
    renewals: 0             // token renewals since the last successful resume
  };

  // ------------------------------------------------------------------ DOM
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  var host = el("div");
  host.id = "tre-widget";
  var root = host.attachShadow({ mode: "open" });
  var sheet = el("link");
  sheet.rel = "stylesheet";
  sheet.href = config.api + "/widget/widget.css";
  root.appendChild(sheet);

  var launcher = el("button", "launcher", "在线咨询");
  launcher.type = "button";
  launcher.setAttribute("aria-label", "打开在线咨询");
  var panel = el("section", "panel hidden");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", config.title);

  var header = el("header", "header");
  var titles = el("div", "titles");
  titles.appendChild(el("div", "title", config.title));
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

  // ------------------------------------------------------------------ helpers
  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function tokenClientId(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part)).client_id || null;
    } catch (e) {
      return null;
    }
  }

  function storageKey() { return "tre-widget:" + (tokenClientId(config.token) || "anonymous"); }

  function rememberConversation(id) {
    try { window.localStorage.setItem(storageKey(), id); } catch (e) { /* storage may be disabled */ }
  }

  function storedConversation() {
    try { return window.localStorage.getItem(storageKey()); } catch (e) { return null; }
  }

  function forgetConversation() {
    try { window.localStorage.removeItem(storageKey()); } catch (e) { /* ignore */ }
  }

  function scrollDown() { transcript.scrollTop = transcript.scrollHeight; }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) { return "暂无法估算等待时间"; }
    if (seconds < 60) { return "预计等待不到 1 分钟"; }
    return "预计等待约 " + Math.round(seconds / 60) + " 分钟";
  }

  function showBanner(text) {
    banner.textContent = text;
    banner.classList.remove("hidden");
  }

  function setStatus(status) {
    state.status = status;
    statusLine.textContent = STATUS_TEXT[status] || "";
    var humanPossible = status === "bot" || status === "resolved";
    humanButton.disabled = !humanPossible;
    var over = status === "closed";
    restart.classList.toggle("hidden", !over);
    input.disabled = over;
    sendButton.disabled = over;
    if (status !== "queued") { queueBar.classList.add("hidden"); }
    if (state.deferredFeedback !== null && status !== "queued" && status !== "awaiting_responder") {
      showFeedback(state.deferredFeedback);
    }
  }

  function setConnection(text) {
    statusLine.textContent = text || STATUS_TEXT[state.status] || "";
  }

  function send(envelope) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(envelope));
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ rendering
  function senderClass(sender) {
    if (sender === "client") { return "me"; }
    if (sender === "system") { return "notice"; }
    return "them " + sender;
  }

  function senderLabel(message) {
    if (message.sender === "bot") { return "智能助手"; }
    if (message.sender === "agent") { return "在线服务"; }
    if (message.sender === "responder") { return "专属响应人"; }
    return "";
  }

  function renderMessage(message) {
    if (state.bySeq.has(message.seq)) { return; }
    var pending = adoptPending(message);
    var item = pending ? pending.el : el("div", "msg " + senderClass(message.sender));
    item.dataset.seq = String(message.seq);
    item.dataset.sender = message.sender;
    item.classList.remove("sending", "failed");
    if (!pending) {
      var label = senderLabel(message);
      if (label) { item.appendChild(el("div", "who", label)); }
      item.appendChild(el("div", "text", message.text));
      var payload = message.payload || {};
      if (message.sender === "bot" && payload.type === "answer" && payload.question) {
        item.appendChild(el("div", "source", "参考问题：" + payload.question));
      }
      insertInOrder(item, message.seq);
    }
    state.bySeq.set(message.seq, item);
    if (message.seq > state.lastSeq) { state.lastSeq = message.seq; }
    if (message.sender === "client") {
      state.lastClientSeq = Math.max(state.lastClientSeq, message.seq);
      clearActions();
    }
    scrollDown();
  }

  // A page of older messages (a long conversation opens on its newest): shown above, no chips or buttons.
  function renderOlder(message) {
    if (state.bySeq.has(message.seq)) { return; }
    var item = el("div", "msg " + senderClass(message.sender));
    item.dataset.seq = String(message.seq);
    item.dataset.sender = message.sender;
    var label = senderLabel(message);
    if (label) { item.appendChild(el("div", "who", label)); }
    item.appendChild(el("div", "text", message.text));
    insertInOrder(item, message.seq);
    state.bySeq.set(message.seq, item);
  }

  function showOlderControl(hasOlder) {
    var old = transcript.querySelector(".older");
    if (old) { old.remove(); }
    if (!hasOlder) { return; }
    var button = el("button", "older", "查看更早的消息");
    button.type = "button";
    button.addEventListener("click", function () {
      var first = transcript.querySelector(".msg[data-seq]");
      button.disabled = true;
      send({ type: "older", before: first ? Number(first.dataset.seq) : 1 });
    });
    transcript.insertBefore(button, transcript.firstChild);
  }

  function insertInOrder(item, seq) {
    var nodes = transcript.querySelectorAll(".msg[data-seq]");
    for (var i = 0; i < nodes.length; i += 1) {
      if (Number(nodes[i].dataset.seq) > seq) {
        transcript.insertBefore(item, nodes[i]);
        return;
      }
    }
    var firstPending = transcript.querySelector(".msg.sending, .msg.failed");
    transcript.insertBefore(item, firstPending);
  }

  function adoptPending(message) {
    if (message.sender !== "client" || state.pending.length === 0) { return null; }
    var index = -1;
    if (message.client_msg_id) {
      index = state.pending.findIndex(function (p) { return p.id === message.client_msg_id; });
    }
    if (index < 0) {
      index = state.pending.findIndex(function (p) { return p.text === message.text && p.sentAfter < message.seq; });
    }
    if (index < 0) { return null; }
    return state.pending.splice(index, 1)[0];
  }

  function clearActions() {
    transcript.querySelectorAll(".actions").forEach(function (node) { node.remove(); });
    chips.classList.add("hidden");
    chips.textContent = "";
  }

  function showFeedback(seq) {
    if (seq < state.lastClientSeq) { return; }
    if (state.status === "queued" || state.status === "awaiting_responder") {
      // the state change that lets the client rate this answer may arrive just after it: show it then
      state.deferredFeedback = seq;
      return;
    }
    state.deferredFeedback = null;
    var item = state.bySeq.get(seq);
    if (!item || item.querySelector(".actions")) { return; }
    transcript.querySelectorAll(".actions").forEach(function (node) { node.remove(); });
    state.feedbackSeq = seq;
    var actions = el("div", "actions");
    FEEDBACK.forEach(function (option) {
      var button = el("button", option.resolved ? "yes" : "no", option.label);
      button.type = "button";
      button.addEventListener("click", function () {
        if (send({ type: "feedback", resolved: option.resolved })) {
          actions.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
          button.classList.add("chosen");
          if (option.resolved) { showStars(item); }
        }
      });
      actions.appendChild(button);
    });
    item.appendChild(actions);
    scrollDown();
  }

  var STAR_TITLES = ["非常不满意", "不满意", "一般", "满意", "非常满意"];

  function showStars(item) {
    var stars = el("div", "stars");
    stars.appendChild(el("span", "stars-label", "请为本次服务评分"));
    STAR_TITLES.forEach(function (title, index) {
      var star = el("button", "star", "★");
      star.type = "button";
      star.title = title;
      star.setAttribute("aria-label", (index + 1) + "星：" + title);
      star.addEventListener("click", function () {
        if (send({ type: "rate", score: index + 1 })) {
          stars.querySelectorAll("button").forEach(function (b, i) {
            b.disabled = true;
            b.classList.toggle("lit", i <= index);
          });
        }
      });
      stars.appendChild(star);
    });
    item.appendChild(stars);
    scrollDown();
  }

  function showRated() {
    transcript.querySelectorAll(".stars .stars-label").forEach(function (label) {
      label.textContent = "感谢您的评价！";
    });
  }

  function showSuggestions(seq, items) {
    if (seq < state.lastClientSeq || !items.length) { return; }
    chips.textContent = "";
    chips.appendChild(el("div", "chips-title", "您是不是想问："));
    items.forEach(function (suggestion) {
      var chip = el("button", "chip", suggestion.question);
      chip.type = "button";
      chip.addEventListener("click", function () { sendText(suggestion.question); });
      chips.appendChild(chip);
    });
    chips.classList.remove("hidden");
    scrollDown();
  }

  function showQueue(envelope) {
    var ahead = envelope.position ? "您当前排在第 " + envelope.position + " 位" : "正在排队";
    queueBar.textContent = envelope.queue_label + "：" + ahead + "，" + minutes(envelope.estimated_wait_seconds);
    queueBar.dataset.position = String(envelope.position || "");
    queueBar.classList.remove("hidden");
  }

  function showTyping(envelope) {
    typingLine.textContent = (envelope.name || "对方") + "正在输入…";
    typingLine.classList.remove("hidden");
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(function () { typingLine.classList.add("hidden"); }, 4000);
  }

  function showAgent(envelope) {
    var number = envelope.practice_number ? "（执业编号：" + envelope.practice_number + "）" : "";
    statusLine.textContent = envelope.role_label + " " + envelope.name + number + " 为您服务";
  }

  // ------------------------------------------------------------------ protocol
  var handlers = {
    session: function (e) {
      state.conversationId = e.conversation_id;
      state.clientId = e.client_id;
      rememberConversation(e.conversation_id);
      setStatus(e.state);
      if (e.limits && e.limits.max_chars) { input.maxLength = e.limits.max_chars; }
      send({ type: "resume", last_seq: state.lastSeq });
    },
    resumed: function (e) {
      if (e.has_older) { showOlderControl(true); }  // a fresh widget opened on the newest page
      state.resumed = true;
      state.attempts = 0;
      state.renewals = 0;
      banner.classList.add("hidden");
      resendPending();
    },
    message: function (e) {
      renderMessage(e);
      if (e.sender !== "client") { typingLine.classList.add("hidden"); }
    },
    ack: function (e) {
      var index = state.pending.findIndex(function (p) { return p.id === e.client_msg_id; });
      if (index >= 0 && state.bySeq.has(e.seq)) {
        var extra = state.pending.splice(index, 1)[0];
        extra.el.remove();
      }
    },
    older: function (e) {
      var top = transcript.scrollHeight - transcript.scrollTop;
      (e.messages || []).forEach(renderOlder);
      transcript.scrollTop = transcript.scrollHeight - top;  // keep the reader where they were
      showOlderControl(Boolean(e.has_older));
    },
    suggestions: function (e) { showSuggestions(e.seq, e.items || []); },
    feedback_request: function (e) { showFeedback(e.seq); },
    queue_position: function (e) { setStatus("queued"); showQueue(e); },
    agent_joined: function (e) { showAgent(e); },
    handoff: function (e) {
      setStatus(e.state);
      showBanner(e.notice);
    },
    typing: function (e) { showTyping(e); },
    closed: function (e) {
      setStatus("closed");
      showBanner(e.notice);
      forgetConversation();
    },
    error: function (e) {
      if (e.code === "token_expired") { setConnection("正在重新验证身份…"); return; }
      showBanner(e.message);
      if (e.client_msg_id) { markFailed(e.client_msg_id, e.code); }
    },
    rated: function () { showRated(); },
    pong: function () {}
  };

  function markFailed(id, code) {
    var pending = state.pending.find(function (p) { return p.id === id; });
    if (!pending || code === "bot_unavailable") { return; }
    pending.el.classList.add("failed");
    state.pending = state.pending.filter(function (p) { return p !== pending; });
  }

  function onMessage(event) {
    var envelope;
    try { envelope = JSON.parse(event.data); } catch (e) { return; }
    var handler = handlers[envelope.type];
    if (handler) { handler(envelope); }
  }

  function socketUrl() {
    var url = new URL(config.api + "/ws/widget");
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", config.token);
    var conversation = state.conversationId || storedConversation();
    if (conversation) { url.searchParams.set("conversation_id", conversation); }
    return url.toString();
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    if (state.stopped || !config.token) {
      setConnection("缺少身份凭证，无法连接");
      return;
    }
    state.resumed = false;
    setConnection(state.attempts ? "正在重新连接…" : "正在连接…");
    var socket = new WebSocket(socketUrl());
    state.socket = socket;
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      if (state.socket !== socket) { return; }
      state.socket = null;
      onClose(event);
    });
  }

  function onClose(event) {
    if (event.code === 4401) {
      renewToken(event.reason);
      return;
    }
    if (event.code === 4409) {  // a newer session of this client (another tab) took over: never fight it
      setConnection("已在其他窗口打开，此窗口已断开");
      return;
    }
    if (event.code === 4403) {
      forgetConversation();
      state.conversationId = null;
      resetTranscript();
    }
    if (ERROR_CLOSE_TEXT[event.code]) { showBanner(ERROR_CLOSE_TEXT[event.code]); }
    scheduleReconnect();
  }

  // ------------------------------------------------------------------ token renewal
  var MAX_RENEWALS = 3;

  function askHost(reason) {
    state.stopped = true;
    setConnection("身份验证已失效");
    showBanner("身份验证失败或已过期，请重新进入。");
    window.dispatchEvent(new CustomEvent("tre-widget:auth-required", { detail: { reason: reason } }));
  }

  function fetchToken() {
    return fetch(config.tokenUrl, {
      method: "POST",
      credentials: "include",
      headers: { accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("token url answered " + response.status); }
      return response.json();
    }).then(function (body) {
      if (!body || typeof body.token !== "string" || !body.token) { throw new Error("no token in the answer"); }
      return body.token;
    });
  }

  // Renewed tokens refused again and again (clock skew, wrong secret) stop after MAX_RENEWALS tries.
  function renewToken(reason) {
    state.renewals += 1;
    if (state.renewals > MAX_RENEWALS) {
      state.stopped = true;
      setConnection("身份验证已失效");
      showBanner("身份验证失败，请刷新页面后重试。");
      return;
    }
    if (!config.tokenUrl) {
      askHost(reason);
      return;
    }
    setConnection("正在重新验证身份…");
    fetchToken().then(function (token) {
      config.token = token;
      connect();
    }, function () {
      askHost(reason);
    });
  }

  function scheduleReconnect() {
    state.attempts += 1;
    var delay = Math.min(15000, 500 * Math.pow(2, state.attempts - 1));
    delay = delay / 2 + Math.random() * delay / 2;
    setConnection("连接已断开，" + Math.ceil(delay / 1000) + " 秒后重连…");
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function resetTranscript() {
    state.bySeq.clear();
    state.lastSeq = 0;
    state.lastClientSeq = 0;
    transcript.textContent = "";
    clearActions();
  }

  // ------------------------------------------------------------------ sending
  function sendText(text) {
    var clean = text.trim();
    if (!clean) { return; }
    state.lastTypingSent = 0;
    var pending = { id: newId(), text: clean, el: el("div", "msg me sending"), sentAfter: state.lastSeq };
    pending.el.appendChild(el("div", "text", clean));
    transcript.appendChild(pending.el);
    state.pending.push(pending);
    clearActions();
    scrollDown();
    if (state.resumed) { send({ type: "message", text: clean, client_msg_id: pending.id }); }
  }

  function resendPending() {
    state.pending.slice().forEach(function (pending) {
      send({ type: "message", text: pending.text, client_msg_id: pending.id });
    });
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    sendText(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - state.lastTypingSent > 2000 && input.value.trim()) {
      state.lastTypingSent = now;
      send({ type: "typing" });
    }
  });
  humanButton.addEventListener("click", function () { send({ type: "ask_human" }); });
  restart.addEventListener("click", function () {
    forgetConversation();
    state.conversationId = null;
    resetTranscript();
    banner.classList.add("hidden");
    if (state.socket) { state.socket.close(1000, "restart"); } else { connect(); }
  });

  function openPanel() {
    panel.classList.remove("hidden");
    launcher.classList.add("hidden");
    input.focus();
    scrollDown();
  }

  function closePanel() {
    panel.classList.add("hidden");
    launcher.classList.remove("hidden");
  }

  launcher.addEventListener("click", openPanel);
  closeButton.addEventListener("click", closePanel);

  window.TREWidget = {
    open: openPanel,
    close: closePanel,
    setToken: function (token) {
      config.token = token;
      state.stopped = false;
      state.attempts = 0;
      if (state.socket) { state.socket.close(1000, "new token"); } else { connect(); }
    },
    get conversationId() { return state.conversationId; },
    get lastSeq() { return state.lastSeq; },
    get connected() { return state.resumed; },
    disconnect: function () { if (state.socket) { state.socket.close(4000, "client reconnect"); } }
  };

  document.body.appendChild(host);
  if (config.open) { openPanel(); }
  connect();
})();

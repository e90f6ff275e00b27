// The widget's settings (read from its script tag by widget.js) and its session state: one widget per page.

export var config = {
  api: "",
  token: "",
  tokenUrl: "",
  title: "",
  open: false
};

export var state = {
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

function tokenClientId(token) {
  try {
    var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).client_id || null;
  } catch (e) {
    return null;
  }
}

// The open conversation is remembered per client, so a reload resumes it.
function storageKey() { return "tre-widget:" + (tokenClientId(config.token) || "anonymous"); }

export function rememberConversation(id) {
  try { window.localStorage.setItem(storageKey(), id); } catch (e) { /* storage may be disabled */ }
}

export function storedConversation() {
  try { return window.localStorage.getItem(storageKey()); } catch (e) { return null; }
}

export function forgetConversation() {
  try { window.localStorage.removeItem(storageKey()); } catch (e) { /* ignore */ }
}

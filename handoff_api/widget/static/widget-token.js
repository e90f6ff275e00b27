// Token renewal after a 4401 close: from data-token-url if set, else the host page is asked (setToken).

import { connect, reconnect } from "./widget-socket.js";
import { config, state } from "./widget-state.js";
import { setConnection, showBanner } from "./widget-status.js";

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
export function renewToken(reason) {
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

/** A token from the host page (window.TREWidget.setToken): the widget starts again with it. */
export function useToken(token) {
  config.token = token;
  state.stopped = false;
  state.attempts = 0;
  reconnect(1000, "new token");
}

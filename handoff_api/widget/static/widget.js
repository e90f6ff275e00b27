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
 *
 * This file reads the tag's settings and defines window.TREWidget at once; the widget's modules
 * (widget-main.js and its imports, next to this file and served with CORS) load from where this file came from.
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
  var widget = null;  // the started widget, once its modules have loaded

  // Calls made before the modules load change the settings the widget then starts with.
  window.TREWidget = {
    open: function () { if (widget) { widget.open(); } else { config.open = true; } },
    close: function () { if (widget) { widget.close(); } else { config.open = false; } },
    setToken: function (token) { if (widget) { widget.setToken(token); } else { config.token = token; } },
    get conversationId() { return widget ? widget.conversationId : null; },
    get lastSeq() { return widget ? widget.lastSeq : 0; },
    get connected() { return widget ? widget.connected : false; },
    disconnect: function () { if (widget) { widget.disconnect(); } }
  };

  import(new URL("widget-main.js", script.src).href).then(function (main) {
    widget = main.start(config);
  }, function (error) {
    console.error("TREWidget: the widget's modules did not load", error);
  });
})();

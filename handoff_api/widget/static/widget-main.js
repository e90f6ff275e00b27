// The widget itself, started by widget.js with the settings of its script tag (see widget.js for embedding).

import { wireComposer } from "./widget-composer.js";
import { connect } from "./widget-socket.js";
import { config, state } from "./widget-state.js";
import { useToken } from "./widget-token.js";
import { buildView, closePanel, openPanel, view } from "./widget-view.js";

/** Put the widget on the page and connect; returns what window.TREWidget hands on to. */
export function start(settings) {
  Object.assign(config, settings);
  buildView(config.api, config.title);
  wireComposer();
  view.launcher.addEventListener("click", openPanel);
  view.closeButton.addEventListener("click", closePanel);
  document.body.appendChild(view.host);
  if (config.open) { openPanel(); }
  connect();
  return {
    open: openPanel,
    close: closePanel,
    setToken: useToken,
    get conversationId() { return state.conversationId; },
    get lastSeq() { return state.lastSeq; },
    get connected() { return state.resumed; },
    disconnect: function () { if (state.socket) { state.socket.close(4000, "client reconnect"); } }
  };
}

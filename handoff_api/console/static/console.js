// Agent console: login, queues, live conversations, actions, agent assist and the supervisor view.
// This module wires the page; each view is its own module (startup, queue, conversations, conversation,
// composer, actions, assist, events, stats), sharing state.js, labels.js and ui.js.

import { whenRenewed, whenUnauthorized } from "./api.js";
import { wireActions } from "./actions.js";
import { searchKb } from "./assist.js";
import { wireComposer } from "./composer.js";
import { reconnectWithRenewedToken } from "./events.js";
import { changePresence } from "./queue.js";
import { login, sessionEnded, signOut, start } from "./startup.js";
import { showTab } from "./stats.js";
import { $ } from "./ui.js";

whenUnauthorized(sessionEnded);
whenRenewed(reconnectWithRenewedToken);

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", signOut);
$("presence").addEventListener("change", changePresence);
wireComposer();
$("kb-form").addEventListener("submit", searchKb);
wireActions();
$("tab-work").addEventListener("click", () => showTab("work"));
$("tab-stats").addEventListener("click", () => showTab("stats"));
$("tab-reports").addEventListener("click", () => showTab("reports"));

start();

// Signing in and out, and starting the console for the signed-in staff member's role.

import { api, scheduleRenewal, session } from "./api.js";
import { initCanned, loadPicker } from "./canned.js";
import { initCompliance } from "./compliance.js";
import { connect } from "./events.js";
import { ROLE_LABELS, SUPERVISORS, TIER2 } from "./labels.js";
import { refreshAll } from "./refresh.js";
import { state } from "./state.js";
import { $, attempt, notify, show, tick } from "./ui.js";

function showLogin() {
  show($("login"), true);
  show($("app"), false);
  $("staff-id").focus();
}

export async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    const result = await api.login($("staff-id").value.trim(), $("password").value);
    session.save(result.access_token, result.staff, result.refresh_token, result.expires_in);
    $("password").value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.status === 401 ? "工号或密码错误" : `登录失败：${error.message}`;
  }
}

function logout() {
  if (state.socket) { state.socket.close(1000, "logout"); }
  state.socket = null;
  state.timers.forEach(clearInterval);
  state.timers = [];
  session.clear();
  state.details.clear();
  state.openId = null;
  showLogin();
}

export function sessionEnded() {
  logout();
  $("login-error").textContent = "登录已失效，请重新登录";
}

export async function signOut() {
  try { await api.logout(); } catch (error) { /* signed out locally either way */ }
  logout();
}

/** The console for the stored session (or the login form): role-specific panels, data, live events, clocks. */
export async function start() {
  state.staff = session.staff;
  if (!state.staff || !session.token) { showLogin(); return; }
  scheduleRenewal();
  show($("login"), false);
  show($("app"), true);
  const role = state.staff.role;
  $("me-name").textContent = state.staff.name;
  $("me-role").textContent = ROLE_LABELS[role] || role;
  state.queues = SUPERVISORS.has(role) ? ["advisor", "service"] : TIER2.has(role) ? state.staff.skills : [];
  show($("queue-panel"), state.queues.length > 0);
  show($("tab-stats"), SUPERVISORS.has(role));
  show($("tab-reports"), SUPERVISORS.has(role));
  $("mine-title").textContent = role === "responder" ? "我的专属待办" : SUPERVISORS.has(role) ? "进行中的会话" : "我的会话";
  state.colleagues = (await attempt(() => api.colleagues())) || [];
  initCanned(state.staff, notify);
  initCompliance(state.staff, notify);
  await loadPicker(null);
  await refreshAll();
  connect();
  state.timers.push(setInterval(tick, 1000));
  state.timers.push(setInterval(() => api.heartbeat().catch(() => {}), 30000));
}

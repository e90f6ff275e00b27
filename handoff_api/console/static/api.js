// REST access for the console: bearer token in sessionStorage, JSON in and out.
// The short access token is renewed quietly with the refresh token (rotated on each use) a minute
// before it expires, and once more if a request still gets 401; only a refused refresh signs out.

const TOKEN_KEY = "tre-console:token";
const STAFF_KEY = "tre-console:staff";
const REFRESH_KEY = "tre-console:refresh";
const EXPIRES_KEY = "tre-console:expires-at";
const RENEW_AHEAD_MS = 60000;
const RENEW_MIN_DELAY_MS = 5000;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get staff() {
    const raw = sessionStorage.getItem(STAFF_KEY);
    return raw ? JSON.parse(raw) : null;
  },
  get refreshToken() { return sessionStorage.getItem(REFRESH_KEY); },
  get expiresAt() { return Number(sessionStorage.getItem(EXPIRES_KEY) || 0); },
  save(token, staff, refreshToken, expiresIn) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(STAFF_KEY, JSON.stringify(staff));
    if (refreshToken) { sessionStorage.setItem(REFRESH_KEY, refreshToken); }
    if (expiresIn) { sessionStorage.setItem(EXPIRES_KEY, String(Date.now() + expiresIn * 1000)); }
  },
  clear() {
    [TOKEN_KEY, STAFF_KEY, REFRESH_KEY, EXPIRES_KEY].forEach((key) => sessionStorage.removeItem(key));
    clearTimeout(renewalTimer);
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(callback) { onUnauthorized = callback; }
let onRenewed = () => {};
export function whenRenewed(callback) { onRenewed = callback; }

let renewing = null;
let renewalTimer = null;

async function refreshOnce() {
  const refreshToken = session.refreshToken;
  if (!refreshToken) { return false; }
  try {
    const response = await fetch("/api/v1/staff/token/refresh", {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    if (!response.ok) { return false; }
    const result = await response.json();
    session.save(result.access_token, result.staff, result.refresh_token, result.expires_in);
  } catch (error) {
    return false;
  }
  scheduleRenewal();
  onRenewed();
  return true;
}

// One refresh at a time: a rotated refresh token presented twice would end the session.
export function renew() {
  if (!renewing) { renewing = refreshOnce().finally(() => { renewing = null; }); }
  return renewing;
}

// Renew a minute before the access token expires, so a shift is never interrupted.
export function scheduleRenewal() {
  clearTimeout(renewalTimer);
  if (!session.refreshToken || !session.expiresAt) { return; }
  const delay = Math.max(RENEW_MIN_DELAY_MS, session.expiresAt - Date.now() - RENEW_AHEAD_MS);
  renewalTimer = setTimeout(async () => {
    if (!(await renew())) { onUnauthorized(); }
  }, delay);
}

async function call(method, path, body, retried = false) {
  const headers = { accept: "application/json" };
  if (body !== undefined) { headers["content-type"] = "application/json"; }
  if (session.token) { headers.authorization = `Bearer ${session.token}`; }
  const response = await fetch(`/api/v1/staff${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && path !== "/login") {
    if (!retried && await renew()) { return call(method, path, body, true); }
    onUnauthorized();
    throw new ApiError(401, "登录已失效，请重新登录");
  }
  if (!response.ok) {
    let detail = "";
    try {
      const problem = await response.json();
      detail = typeof problem.detail === "string" ? problem.detail : JSON.stringify(problem.detail);
    } catch (error) {
      detail = response.statusText;
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) { return null; }
  return response.json();
}

export const api = {
  login: (staffId, password) => call("POST", "/login", { staff_id: staffId, password }),
  logout: () => call("POST", "/logout", undefined, true),
  changePassword: (oldPassword, newPassword) =>
    call("POST", "/password", { old_password: oldPassword, new_password: newPassword }),
  me: () => call("GET", "/me"),
  colleagues: () => call("GET", "/colleagues"),
  queue: (name) => call("GET", `/queues/${name}`),
  conversations: () => call("GET", "/conversations"),
  conversation: (id, opened = false, before = null) =>
    call("GET", `/conversations/${encodeURIComponent(id)}${opened ? "?opened=true" : before ? `?before=${before}` : ""}`),
  claim: (id) => call("POST", `/conversations/${encodeURIComponent(id)}/claim`),
  reply: (id, text) => call("POST", `/conversations/${encodeURIComponent(id)}/reply`, { text }),
  resolve: (id) => call("POST", `/conversations/${encodeURIComponent(id)}/resolve`),
  unresolved: (id) => call("POST", `/conversations/${encodeURIComponent(id)}/unresolved`),
  escalate: (id) => call("POST", `/conversations/${encodeURIComponent(id)}/escalate`),
  transferToQueue: (id, queue) => call("POST", `/conversations/${encodeURIComponent(id)}/transfer`, { queue }),
  transferToStaff: (id, staffId) =>
    call("POST", `/conversations/${encodeURIComponent(id)}/transfer`, { staff_id: staffId }),
  presence: (presence) => call("POST", "/presence", { presence }),
  heartbeat: () => call("POST", "/heartbeat"),
  kbSearch: (q) => call("GET", `/kb/search?q=${encodeURIComponent(q)}&k=5`),
  cannedReplies: (conversationId) =>
    call("GET", `/canned-replies${conversationId ? `?conversation_id=${encodeURIComponent(conversationId)}` : ""}`),
  cannedAll: () => call("GET", "/canned-replies?scope=all"),
  cannedCreate: (reply) => call("POST", "/canned-replies", reply),
  cannedUpdate: (id, reply) => call("PUT", `/canned-replies/${encodeURIComponent(id)}`, reply),
  cannedDelete: (id) => call("DELETE", `/canned-replies/${encodeURIComponent(id)}`),
  complianceSearch: (filters) => call("GET", `/compliance/conversations?${new URLSearchParams(filters)}`),
  statsToday: () => call("GET", "/stats/today"),
  reports: (query) => call("GET", `/reports?${query}`),
  learningLabel: (conversationId, faqId, source) =>
    call("POST", "/learning/labels", { conversation_id: conversationId, faq_id: faqId, source }),
  learningReview: (status = "pending") => call("GET", `/learning/review?status=${status}`),
  learningDecide: (decisions) => call("POST", "/learning/review", { decisions }),
  learningGaps: (threshold) => call("GET", `/learning/gaps${threshold ? `?threshold=${threshold}` : ""}`),
  learningDraft: (entry) => call("POST", "/learning/drafts", entry),
  learningVersions: () => call("GET", "/learning/versions"),
  learningFigures: () => call("GET", "/learning/figures"),
};

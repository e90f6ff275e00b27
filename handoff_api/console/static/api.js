// REST access for the console: bearer token in sessionStorage, JSON in and out, 401 signs out.

const TOKEN_KEY = "tre-console:token";
const STAFF_KEY = "tre-console:staff";

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
  save(token, staff) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(STAFF_KEY, JSON.stringify(staff));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(STAFF_KEY);
  },
};

let onUnauthorized = () => {};
export function whenUnauthorized(callback) { onUnauthorized = callback; }

async function call(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) { headers["content-type"] = "application/json"; }
  if (session.token) { headers.authorization = `Bearer ${session.token}`; }
  const response = await fetch(`/api/v1/staff${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && path !== "/login") {
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
  me: () => call("GET", "/me"),
  colleagues: () => call("GET", "/colleagues"),
  queue: (name) => call("GET", `/queues/${name}`),
  conversations: () => call("GET", "/conversations"),
  conversation: (id, opened = false) =>
    call("GET", `/conversations/${encodeURIComponent(id)}${opened ? "?opened=true" : ""}`),
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
  canned: () => call("GET", "/canned-replies"),
  statsToday: () => call("GET", "/stats/today"),
  learningLabel: (conversationId, faqId, source) =>
    call("POST", "/learning/labels", { conversation_id: conversationId, faq_id: faqId, source }),
  learningReview: (status = "pending") => call("GET", `/learning/review?status=${status}`),
  learningDecide: (decisions) => call("POST", "/learning/review", { decisions }),
  learningGaps: (threshold) => call("GET", `/learning/gaps${threshold ? `?threshold=${threshold}` : ""}`),
  learningDraft: (entry) => call("POST", "/learning/drafts", entry),
  learningVersions: () => call("GET", "/learning/versions"),
  learningFigures: () => call("GET", "/learning/figures"),
};

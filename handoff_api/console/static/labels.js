// The console's Chinese labels for roles, queues, states, escalation reasons and senders, and the role groups.

export const ROLE_LABELS = {
  advisor: "在线投顾", service: "在线客服", responder: "专属响应人", duty_manager: "值班经理", admin: "管理员",
  compliance: "合规专员",
};
export const QUEUE_LABELS = { advisor: "投顾队列", service: "客服队列" };
export const STATE_LABELS = {
  bot: "机器人服务", queued: "排队中", with_agent: "人工服务中", awaiting_responder: "待专属响应人处理",
  with_responder: "专属响应人服务中", resolved: "已解决", closed: "已结束",
};
export const REASON_LABELS = {
  low_score: "机器人无法确定答案", client_unresolved: "客户反馈未解决", asked_human: "客户要求人工",
  advice_request: "投资建议类问题", kb_unavailable: "知识库不可用", wait_limit: "排队超时",
  agent_unresolved: "坐席未解决", agent_escalated: "坐席升级", off_hours: "非服务时间",
  no_staff_online: "无人在线", responder_timeout: "响应超时",
};
export const SENDER_LABELS = { client: "客户", bot: "机器人", agent: "坐席", responder: "专属响应人", system: "系统" };
export const SUPERVISORS = new Set(["duty_manager", "admin"]);
export const TIER2 = new Set(["advisor", "service"]);

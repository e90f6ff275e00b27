// What the console holds for the signed-in staff member: queues, conversations and their details, the socket.

export const state = {
  staff: null,
  me: null,
  queues: [],
  queueItems: [],
  colleagues: [],         // who a conversation can be handed to (GET /colleagues)
  conversations: [],
  details: new Map(),     // conversation id -> detail (conversation, client, ticket, transcript)
  unread: new Map(),
  openId: null,
  socket: null,
  attempts: 0,
  refreshTimer: null,
  typingTimer: null,
  lastTypingSent: 0,
  timers: [],
};

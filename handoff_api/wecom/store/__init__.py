"""The WeCom channel's SQL tables and stores (SQLite or PostgreSQL).

The tables are defined on routing's single MetaData (routing.sql_tables.metadata), so that Alembic
sees one schema; the migrations in alembic/versions/ create them, nothing here creates tables.

- wecom_conversations: which WeCom identity each conversation talks through (ConversationLinks);
- wecom_state: small durable values: the 微信客服 sync cursors, written by SqlInbox with each pulled page;
- wecom_outbox: outbound WeCom requests not sent yet (SqlOutbox);
- wecom_inbox: accepted inbound callbacks until handled (SqlInbox; status sent = handled).
"""

from __future__ import annotations

from handoff_api.wecom.store.links import ConversationLinks
from handoff_api.wecom.store.queues import SqlInbox, SqlOutbox
from handoff_api.wecom.store.tables import stored_key, wecom_conversations, wecom_inbox, wecom_outbox, wecom_state

__all__ = [
    "ConversationLinks",
    "SqlInbox",
    "SqlOutbox",
    "stored_key",
    "wecom_conversations",
    "wecom_inbox",
    "wecom_outbox",
    "wecom_state",
]

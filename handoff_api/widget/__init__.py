"""The client chat widget: embeddable script, demo page, client WebSocket protocol."""

from handoff_api.widget.routes import router

__all__ = ["router"]

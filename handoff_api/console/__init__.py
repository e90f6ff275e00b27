"""The agent console: one page for every staff role, its assets and its live-event WebSocket."""

from handoff_api.console.routes import router

__all__ = ["router"]

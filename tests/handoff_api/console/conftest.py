"""Console tests reuse the widget tests' app (real routing + SQL, fake bot)."""

from tests.handoff_api.widget.conftest import app, client, database, fake_bot, seeded_template, token_for

__all__ = ["app", "client", "database", "fake_bot", "seeded_template", "token_for"]

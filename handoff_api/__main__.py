"""`python -m handoff_api`: administration of the API (integration keys: see handoff_api.api_keys.cli)."""

from __future__ import annotations

from handoff_api.api_keys.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

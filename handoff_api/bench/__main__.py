"""`python -m handoff_api.bench`: see handoff_api.bench.cli."""

from handoff_api.bench.cli import main

raise SystemExit(main())

"""The engine's own benchmark: `python -m handoff_api.bench` (see `handoff_api.bench.cli`).

Every figure it prints stands beside a baseline measured in the same run, and their ratio: the machine
is shared and noisy, so absolute times mean little on their own.
"""

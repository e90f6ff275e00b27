"""Observability: Prometheus metrics (/metrics), request ids and structured JSON logs.

- metrics.py: the metric objects, one registry per app (multiprocess mode with several workers);
- collectors.py: figures read at scrape time (queues, staff, WeCom backlogs, the index);
- instrument.py: wrappers of the event bus and the bot clients that count and time;
- middleware.py: request ids and HTTP metrics by route template;
- logging.py: structlog configuration, the request and conversation log context;
- routes.py: GET /metrics (behind METRICS_TOKEN when set).
"""

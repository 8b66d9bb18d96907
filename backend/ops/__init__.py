"""Running Linli in production: health probes, Prometheus metrics, request ids that follow a
request into the tasks it queues, and JSON logs. Nothing here belongs to a domain; the
domain apps only call ``backend.ops.metrics`` to count what they did."""

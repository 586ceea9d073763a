"""The runtime: the Celery app, thin task wrappers, the beat schedule, the embedded broker,
the demo server, and the `yuqing` command."""

"""yuqing's domain core: sources, fetching, parsing, text, sentiment, topics, flagging, storage.

Imports neither celery nor any web framework (see ../README.md, Architecture).
"""

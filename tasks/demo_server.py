"""`yuqing demo-server`: serves the bundled demo feeds on loopback like a real site would,
with ETag and Last-Modified, so the poller's conditional GET is exercised (304s). The feeds
are dated relative to now (tasks.demo_dates: every time moved by the same whole days, fixed
when the server starts) unless `as_recorded`."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tasks import demo_dates

_TYPES = {".xml": "application/xml", ".rss": "application/rss+xml", ".rdf": "application/rdf+xml",
          ".atom": "application/atom+xml", ".json": "application/json"}


class _Feed:
    def __init__(self, path: Path, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        mtime = datetime.fromtimestamp(int(path.stat().st_mtime), UTC)
        self.last_modified = format_datetime(mtime, usegmt=True)
        self.mtime = mtime
        self.content_type = _TYPES.get(path.suffix, "application/octet-stream")


def _load(root: Path, now: datetime | None) -> tuple[dict[str, _Feed], int]:
    """The feeds under `root` and the days they were moved by (0 when `now` is None)."""
    paths = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in _TYPES]
    bodies = {p: p.read_bytes() for p in paths}
    days = 0 if now is None else demo_dates.days_behind(bodies.values(), now)
    feeds = {"/feeds/" + p.relative_to(root).as_posix(): _Feed(p, demo_dates.shift(b, days))
             for p, b in bodies.items()}
    return feeds, days


def _handler(feeds: dict[str, _Feed]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "yuqing-demo/0.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the worker logs what matters; a line per request would drown it

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            feed = feeds.get(self.path.split("?", 1)[0])
            if feed is None:
                self.send_error(404, "no such demo feed")
                return
            if self._not_modified(feed):
                self.send_response(304)
                self.send_header("ETag", feed.etag)
                self.send_header("Last-Modified", feed.last_modified)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", feed.content_type)
            self.send_header("Content-Length", str(len(feed.body)))
            self.send_header("ETag", feed.etag)
            self.send_header("Last-Modified", feed.last_modified)
            self.send_header("Cache-Control", "max-age=60")
            self.end_headers()
            self.wfile.write(feed.body)

        def _not_modified(self, feed: _Feed) -> bool:
            inm = self.headers.get("If-None-Match")
            if inm is not None:
                return feed.etag in [tag.strip() for tag in inm.split(",")] or inm.strip() == "*"
            ims = self.headers.get("If-Modified-Since")
            if ims:
                try:
                    return feed.mtime <= parsedate_to_datetime(ims)
                except (TypeError, ValueError):
                    return False
            return False

    return Handler


class DemoServer:
    """The demo feeds on http://host:port/feeds/<file>; `port=0` picks a free port. Dated
    relative to `now` (default: the clock when the server starts); `as_recorded` serves the
    files' own dates."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0, *,
                 now: datetime | None = None, as_recorded: bool = False) -> None:
        self.feeds, self.days_shifted = _load(
            root, None if as_recorded else (now or datetime.now(UTC)))
        self.httpd = ThreadingHTTPServer((host, port), _handler(self.feeds))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        # An AF_INET server's address is (str, int); the type allows bytes for AF_UNIX.
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/feeds"

    def start(self) -> DemoServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="demo-server")
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

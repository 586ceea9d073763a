"""A loopback HTTP server for tests: routes, conditional GET, slow and huge bodies, redirects.

    from tests.support.fake_web import FakeWeb, fake_web  # noqa: F401  (fixture)

    def test_x(fake_web: FakeWeb) -> None:
        fake_web.add_feed("/feed.xml", body, etag='"v1"')
        url = fake_web.url("/feed.xml")
        ...
        assert fake_web.hits("/feed.xml") == 2

The server runs in a background thread (ThreadingHTTPServer on 127.0.0.1, port 0). Fetching
it needs allow_private=True, since it is a loopback address.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeWeb", "Request", "Response", "fake_web"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: Mapping[str, str]  # lower-cased names
    body: bytes = b""  # what a POST sent (webhook tests)
    peer: tuple[str, int] | None = None  # the client's address and port: one per connection


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # bytes, or an iterable of chunks streamed with chunked encoding (not held in memory).
    body: bytes | Iterable[bytes] = b""


Handler = Callable[[Request], Response | None]  # None: send nothing (the client times out)


class FakeWeb:
    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.stopped = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeWeb:
        web = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # a blocked write to a client that stopped reading gives up

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                web._dispatch(self)

            do_HEAD = do_GET  # noqa: N815
            do_POST = do_GET  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep pytest output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()  # wakes slow handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWeb is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- bookkeeping -------------------------------------------------------------------
    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- routes ------------------------------------------------------------------------
    def route(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def add(
        self, path: str, status: int = 200, body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        """A fixed answer."""
        fixed_headers = dict(headers or {})
        self.route(path, lambda _req: Response(status, dict(fixed_headers), body))

    def add_feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = '"v1"',
        last_modified: str | None = "Fri, 20 Nov 2026 01:30:00 GMT",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        """A feed that honours If-None-Match / If-Modified-Since with real validators."""

        def handler(req: Request) -> Response:
            headers = {"Content-Type": content_type, **dict(extra_headers or {})}
            if etag:
                headers["ETag"] = etag
            if last_modified:
                headers["Last-Modified"] = last_modified
            if _not_modified(req, etag, last_modified):
                return Response(304, {k: v for k, v in headers.items() if k != "Content-Type"})
            return Response(200, headers, body)

        self.route(path, handler)

    def add_never_answering(self, path: str) -> None:
        """Accepts the request, then sleeps until the server stops: a read timeout."""

        def handler(_req: Request) -> None:
            self.stopped.wait()
            return None

        self.route(path, handler)

    def add_trickle(self, path: str, *, every_s: float = 0.05, chunk: bytes = b" ") -> None:
        """Headers at once, then a byte now and then forever: only a total deadline stops it."""

        def body() -> Iterator[bytes]:
            yield b"<?xml version='1.0'?><rss version='2.0'><channel>"
            while not self.stopped.wait(every_s):
                yield chunk

        self.route(path, lambda _req: Response(200, {"Content-Type": "text/xml"}, body()))

    def add_huge(
        self, path: str, *, size: int = 50 * 1024 * 1024, declare_length: bool = True,
        chunk_size: int = 64 * 1024,
    ) -> None:  # fmt: skip
        """A body of `size` bytes generated on the fly (never held in memory)."""

        def body() -> Iterator[bytes]:
            block = b"<item>" + b"x" * (chunk_size - 13) + b"</item>"
            sent = 0
            while sent < size and not self.stopped.is_set():
                part = block[: size - sent]
                sent += len(part)
                yield part

        def handler(_req: Request) -> Response:
            headers = {"Content-Type": "application/rss+xml"}
            if declare_length:
                headers["Content-Length"] = str(size)
            return Response(200, headers, body())

        self.route(path, handler)

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        self.add(path, status, b"", {"Location": location})

    def add_redirect_chain(self, prefix: str, hops: int, final: str) -> list[str]:
        """prefix/0 → prefix/1 → … → prefix/{hops-1} → final. Returns the hop paths."""
        paths = [f"{prefix}/{i}" for i in range(hops)]
        for here, there in zip(paths, [*paths[1:], final], strict=True):
            self.add_redirect(here, there)
        return paths

    # -- the server side ---------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if h.command == "POST" and length else b""
        req = Request(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body,
                      peer=(str(h.client_address[0]), int(h.client_address[1])))
        route_path = h.path if h.path in self._routes else h.path.split("?", 1)[0]
        with self._lock:
            self._hits[route_path] += 1
            self.requests.append(req)
        handler = self._routes.get(route_path)
        resp = handler(req) if handler else Response(404, {"Content-Type": "text/plain"}, b"nf")
        if resp is None:
            h.close_connection = True
            return
        try:
            _write(h, resp)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            h.close_connection = True  # the client hung up on purpose (size cap, timeout)


def _not_modified(req: Request, etag: str | None, last_modified: str | None) -> bool:
    if "if-none-match" in req.headers:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = [t.strip() for t in req.headers["if-none-match"].split(",")]
        return etag is not None and (etag in tags or "*" in tags)
    if "if-modified-since" in req.headers and last_modified:
        try:
            since = parsedate_to_datetime(req.headers["if-modified-since"])
            return parsedate_to_datetime(last_modified) <= since
        except (TypeError, ValueError):
            return False
    return False


def _write(h: BaseHTTPRequestHandler, resp: Response) -> None:
    # send_response_only: send_response would add a Date of its own, and a response's own
    # Date (a test's recorded server clock) would then come twice.
    h.send_response_only(resp.status)
    headers = dict(resp.headers)
    headers.setdefault("Server", h.version_string())
    headers.setdefault("Date", formatdate(usegmt=True))
    streamed = not isinstance(resp.body, bytes | bytearray)
    if not streamed:
        headers.setdefault("Content-Length", str(len(resp.body)))  # type: ignore[arg-type]
    elif "Content-Length" not in headers:
        headers["Transfer-Encoding"] = "chunked"
    for name, value in headers.items():
        h.send_header(name, value)
    h.end_headers()
    if h.command == "HEAD" or resp.status in (204, 304):
        return
    if not streamed:
        h.wfile.write(resp.body)  # type: ignore[arg-type]
        return
    chunked = headers.get("Transfer-Encoding") == "chunked"
    for part in resp.body:
        if not part:
            continue
        if chunked:
            h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        else:
            h.wfile.write(part)
        h.wfile.flush()
    if chunked:
        h.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def fake_web() -> Iterator[FakeWeb]:
    web = FakeWeb().start()
    try:
        yield web
    finally:
        web.stop()

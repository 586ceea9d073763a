"""`yuqing notify fake-robots`: a stand-in WeCom group robot and SMS gateway on loopback, for
the demo (nothing leaves the machine). Messages are accepted the way the platforms answer
(WeCom errcode 0, the gateway code 0), printed, appended to YUQING_HOME/logs/fake-robots.jsonl
and listed at GET / (escaped)."""

from __future__ import annotations

import html
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROUTES = {"/cgi-bin/webhook/send": ("wecom", {"errcode": 0, "errmsg": "ok"}),
          "/sms/send": ("sms", {"code": 0, "message": "ok"})}
_MAX_BODY = 1 << 20


def _text(kind: str, body: dict[str, Any]) -> str:
    if kind == "sms":
        return f"→ {body.get('to')}: {body.get('text', '')}"
    inner = body.get("markdown") or body.get("text") or {}
    mentions = inner.get("mentioned_mobile_list") if isinstance(inner, dict) else None
    at = f" @{','.join(mentions)}" if mentions else ""
    return (inner.get("content", "") if isinstance(inner, dict) else str(inner)) + at


class FakeRobots:
    def __init__(self, log_path: Path, host: str = "127.0.0.1", port: int = 8099) -> None:
        self.log_path = log_path
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _answer(self, status: int, payload: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                if path not in ROUTES or not 0 < length <= _MAX_BODY:
                    self._answer(404, b'{"errcode": 404}', "application/json")
                    return
                kind, ok = ROUTES[path]
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    self._answer(400, b'{"errcode": 400}', "application/json")
                    return
                robots.record(kind, body)
                self._answer(200, json.dumps(ok).encode(), "application/json")

            def do_GET(self) -> None:  # noqa: N802
                with robots._lock:
                    rows = list(robots.received)
                items = "".join(
                    f"<li><b>{html.escape(r['kind'])}</b> {html.escape(r['at'])}"
                    f"<pre>{html.escape(r['text'])}</pre></li>" for r in reversed(rows))
                page = (f"<!doctype html><meta charset=utf-8><title>fake robots</title>"
                        f"<h1>收到的通知 ({len(rows)})</h1><ol>{items}</ol>").encode()
                self._answer(200, page, "text/html; charset=utf-8")

        return Handler

    def record(self, kind: str, body: dict[str, Any]) -> None:
        row = {"kind": kind, "at": datetime.now(UTC).isoformat(timespec="seconds"),
               "text": _text(kind, body), "body": body}
        with self._lock:
            self.received.append(row)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"[{kind}] {row['text']}", flush=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> FakeRobots:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Loopback stand-ins for the platforms' robot webhooks, speaking their documented formats:
the request shape each accepts, its signature check and its error codes (WeCom 93000 bad key
and 45009 rate limit; DingTalk 310000 for a missing keyword or a wrong sign; Feishu 19021
sign match fail), and an SMS gateway with a bearer token. Each records what it accepted.
Mount them on a FakeWeb (tests.support.fake_web)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_web import FakeWeb, Request, Response


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(status, {"Content-Type": "application/json; charset=utf-8"},
                    json.dumps(payload, ensure_ascii=False).encode())


def _query(req: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(req.path).query).items()}


@dataclass
class Robot:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def texts(self) -> list[str]:
        out = []
        for b in self.accepted:
            if "markdown" in b:
                out.append(b["markdown"].get("content") or b["markdown"].get("text", ""))
            elif "text" in b and isinstance(b["text"], dict):
                out.append(b["text"]["content"])
            elif "content" in b:
                out.append(json.dumps(b["content"], ensure_ascii=False))
            else:
                out.append(str(b.get("text", "")))
        return out


def wecom(web: FakeWeb, key: str, *, per_minute: int = 20) -> Robot:
    """企业微信群机器人: POST /cgi-bin/webhook/send?key=KEY, msgtype text|markdown."""
    robot = Robot()

    def handler(req: Request) -> Response:
        def no(code: int, msg: str) -> Response:
            robot.refused.append((code, msg))
            return _json({"errcode": code, "errmsg": msg})
        if req.method != "POST" or _query(req).get("key") != key:
            return no(93000, "invalid webhook url")
        body = json.loads(req.body)
        kind = body.get("msgtype")
        if kind == "markdown":
            if len(body["markdown"]["content"].encode()) > 4096:
                return no(40058, "markdown.content exceed max length 4096")
        elif kind == "text":
            if len(body["text"]["content"].encode()) > 2048:
                return no(40058, "content exceed max length 2048")
            if not isinstance(body["text"].get("mentioned_mobile_list", []), list):
                return no(40058, "mentioned_mobile_list must be a list")
        else:
            return no(40008, "invalid message type")
        if len(robot.accepted) >= per_minute:
            return no(45009, "api freq out of limit")
        robot.accepted.append(body)
        return _json({"errcode": 0, "errmsg": "ok"})

    web.route("/cgi-bin/webhook/send", handler)
    return robot


def dingtalk(web: FakeWeb, token: str, *, secret: str = "", keywords: tuple[str, ...] = (),
             clock: Callable[[], float] = time.time) -> Robot:
    """钉钉自定义机器人: POST /robot/send?access_token=T[&timestamp=MS&sign=S]; 加签 checked
    within an hour of `clock`, 自定义关键词 checked in the text; errors as errcode 310000."""
    robot = Robot()

    def handler(req: Request) -> Response:
        def no(code: int, msg: str) -> Response:
            robot.refused.append((code, msg))
            return _json({"errcode": code, "errmsg": msg})
        q = _query(req)
        if q.get("access_token") != token:
            return no(300001, "token is not exist")
        if secret:
            ts = q.get("timestamp", "")
            if not ts.isdigit() or abs(int(ts) / 1000 - clock()) > 3600:
                return no(310000, "sign not match, timestamp is invalid")
            mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256)
            if not hmac.compare_digest(q.get("sign", ""), base64.b64encode(mac.digest())
                                       .decode()):
                return no(310000, "sign not match")
        body = json.loads(req.body)
        if body.get("msgtype") == "markdown":
            text = body["markdown"]["title"] + body["markdown"]["text"]
        elif body.get("msgtype") == "text":
            text = body["text"]["content"]
        else:
            return no(40035, "msgtype is invalid")
        if keywords and not any(k in text for k in keywords):
            return no(310000, "keywords not in content")
        robot.accepted.append(body)
        return _json({"errcode": 0, "errmsg": "ok"})

    web.route("/robot/send", handler)
    return robot


def feishu(web: FakeWeb, token: str, *, secret: str = "",
           clock: Callable[[], float] = time.time) -> Robot:
    """飞书自定义机器人: POST /open-apis/bot/v2/hook/TOKEN; 签名校验 from the body's timestamp."""
    robot = Robot()

    def handler(req: Request) -> Response:
        def no(code: int, msg: str) -> Response:
            robot.refused.append((code, msg))
            return _json({"code": code, "msg": msg, "data": {}})
        body = json.loads(req.body)
        if secret:
            ts = str(body.get("timestamp", ""))
            if not ts.isdigit() or abs(int(ts) - clock()) > 3600:
                return no(19021, "sign match fail or timestamp is not within one hour")
            mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256)
            if body.get("sign") != base64.b64encode(mac.digest()).decode():
                return no(19021, "sign match fail or timestamp is not within one hour")
        if body.get("msg_type") not in ("text", "post", "interactive"):
            return no(9499, "Bad Request")
        robot.accepted.append(body)
        return _json({"code": 0, "msg": "success", "data": {}})

    web.route(f"/open-apis/bot/v2/hook/{token}", handler)
    return robot


def sms_gateway(web: FakeWeb, path: str, token: str) -> Robot:
    """An SMS gateway: POST JSON {"to": "138…", "text": …} with Authorization: Bearer T."""
    robot = Robot()

    def handler(req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {token}":
            robot.refused.append((401, "bad token"))
            return _json({"code": 401, "message": "unauthorized"}, 401)
        body = json.loads(req.body)
        to = str(body.get("to", ""))
        if not (len(to) == 11 and to.isdigit() and to.startswith("1")):
            robot.refused.append((1001, "bad number"))
            return _json({"code": 1001, "message": f"invalid mobile {to!r}"})
        robot.accepted.append(body)
        return _json({"code": 0, "message": "ok", "id": len(robot.accepted)})

    web.route(path, handler)
    return robot

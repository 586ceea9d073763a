"""Channels: the URL forms the settings use, and one small typed sender per platform.

Why not Apprise: it covers WeCom (`wecombot://`), DingTalk, Feishu, Lark, e-mail, JSON and
many SMS gateways, but its plugins hard-code each platform's host (qyapi.weixin.qq.com,
oapi.dingtalk.com, open.feishu.cn), so tests cannot point them at loopback fakes; its
`notify()` answers True/False, which cannot tell "refused" from "the request went out and the
answer was lost" (the outbox needs that to stay at most once); and it sends through
`requests` without this project's address checks. The senders here are a few lines each,
speak each platform's documented robot format, take a `base=` override for tests or a
private deployment (Feishu/Lark private cloud), and keep the fetch rules of monitor.fetch:
timeouts, no redirects, no private, link-local or metadata address unless allowed.

URL forms (a name → URL in notify.channels; `${VAR}` is read from the environment):

    https://host/path                        generic JSON webhook: {"text": …, "alert_id": …}
    wecombot://KEY (or wecom://KEY)          WeCom group robot: markdown, or text with
                                             mentioned_mobile_list when people are @-ed
    dingtalk://TOKEN?secret=S&keyword=K      DingTalk robot, signed (timestamp+sign, HMAC-
                                             SHA256) when secret is given; K is put in text
    feishu://TOKEN?secret=S&keyword=K        Feishu / Lark robot, "post" rich text, signed;
    lark://TOKEN                             K put in the title when missing
    smsgw+https://gateway/path?token=T       an SMS gateway: POST {"to", "text"} per person,
                                             Authorization: Bearer T
    mailto:                                  e-mail to each person (the smtp: settings)

Any of them takes `base=http://127.0.0.1:PORT` to replace the platform's host.

Outcomes, in the outbox's words: sent; failed (refused: not retried); retry (the connection
was never made, or the platform said "too fast": nothing was delivered); unknown (the
request went out and the answer was lost: never resent by itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx

from monitor.errors import FetchError, InputError

# The address rules of the poller (issue 14, item 1), applied to every channel's host and to
# the peer actually connected to: one definition of what "private" means.
from monitor.fetch import _check_peer, _check_url
from responders import mail
from responders.notify.message import Notice, headline, lines, markdown, plain_text

Kind = Literal["json", "wecom", "dingtalk", "feishu", "lark", "sms", "email"]
Outcome = Literal["sent", "failed", "unknown", "retry"]
GROUP_KINDS: frozenset[str] = frozenset({"json", "wecom", "dingtalk", "feishu", "lark"})
PERSONAL_KINDS: frozenset[str] = frozenset({"sms", "email"})

_HOSTS = {"wecom": "https://qyapi.weixin.qq.com", "dingtalk": "https://oapi.dingtalk.com",
          "feishu": "https://open.feishu.cn", "lark": "https://open.larksuite.com"}
_SCHEMES: dict[str, Kind] = {"wecombot": "wecom", "wecom": "wecom", "dingtalk": "dingtalk",
                             "feishu": "feishu", "lark": "lark", "http": "json",
                             "https": "json", "smsgw+http": "sms", "smsgw+https": "sms",
                             "mailto": "email"}
SMS_LIMIT = 200  # characters: a few segments, not a letter
_MAX_ANSWER = 64 * 1024  # a robot's answer is a line of JSON


class ChannelSpecError(InputError):
    """A channel URL that cannot be used, in words (exit 2 on the command line)."""


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: Kind
    endpoint: str       # where the POST goes (with the token), "" for e-mail
    secret: str = ""
    keyword: str = ""
    token: str = ""     # the SMS gateway's bearer token

    def shown(self) -> str:
        """The endpoint without its secrets, for logs and the desk."""
        parts = urlsplit(self.endpoint)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) or self.kind


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class SendPolicy:
    timeout: float
    allow_private: bool
    tz: str
    smtp: mail.SmtpSettings | None = None


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(url: str, env: Mapping[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise ChannelSpecError(f"the channel URL names ${{{m.group(1)}}}, which is not "
                                   f"set in the environment")
        return env[m.group(1)]
    return _VAR.sub(one, url)


def kind_of(url: str) -> Kind | None:
    """The kind a URL form names, without reading it further (a channel whose secret is not
    set still counts as a group or a personal channel)."""
    text = url.strip()
    return _SCHEMES.get(text.split(":", 1)[0].lower()) if ":" in text else None


def parse(name: str, url: str, env: Mapping[str, str] | None = None) -> ChannelSpec:
    """A channel from its URL form (see the module doc); ChannelSpecError in words."""
    text = expand(url.strip(), os.environ if env is None else env)
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise ChannelSpecError(
            f"channel {name!r}: unknown kind {scheme or text!r}; use wecombot://, "
            f"dingtalk://, feishu://, lark://, smsgw+https://, mailto: or an http(s) URL")
    if kind == "email":
        return ChannelSpec(name, kind, "")
    parts = urlsplit(text)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if kind == "json":
        if not parts.hostname:
            raise ChannelSpecError(f"channel {name!r}: {text!r} has no host")
        return ChannelSpec(name, kind, text)
    if kind == "sms":
        token = query.pop("token", "")
        real = parts.scheme.split("+", 1)[1]
        if not parts.hostname:
            raise ChannelSpecError(f"channel {name!r}: {text!r} has no gateway host")
        return ChannelSpec(name, kind, urlunsplit((real, parts.netloc, parts.path,
                                                   urlencode(query), "")), token=token)
    key = (parts.netloc + parts.path).strip("/")
    if not key:
        raise ChannelSpecError(f"channel {name!r}: {text!r} names no robot key/token")
    base = query.get("base", "").rstrip("/") or _HOSTS[kind]
    if not urlsplit(base).hostname:
        raise ChannelSpecError(f"channel {name!r}: base={base!r} is not a URL")
    if kind == "wecom":
        endpoint = f"{base}/cgi-bin/webhook/send?key={quote_plus(key)}"
    elif kind == "dingtalk":
        endpoint = f"{base}/robot/send?access_token={quote_plus(key)}"
    else:
        endpoint = f"{base}/open-apis/bot/v2/hook/{quote_plus(key)}"
    return ChannelSpec(name, kind, endpoint, secret=query.get("secret", ""),
                       keyword=query.get("keyword", ""))


# ---------------------------------------------------------------- signatures (pure)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, "{timestamp}\\n{secret}")), URL-encoded
    by the caller's query string."""
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark's 签名校验: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", empty))."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# ---------------------------------------------------------------- bodies (pure)


def body_for(spec: ChannelSpec, n: Notice, now: datetime, tz: str, *,
             to: str = "") -> dict[str, Any]:
    """The JSON the platform documents for a robot message."""
    if spec.kind == "wecom":
        if n.mentions:
            return {"msgtype": "text", "text": {"content": plain_text(n, now, tz),
                                                "mentioned_mobile_list": list(n.mentions)}}
        return {"msgtype": "markdown", "markdown": {"content": markdown(n, now, tz)}}
    if spec.kind == "dingtalk":
        text = markdown(n, now, tz)
        title = headline(n)
        if spec.keyword and spec.keyword not in text:
            # A robot with 自定义关键词 refuses (310000) a message without one of them.
            text = f"{spec.keyword} {text}"
            title = f"{spec.keyword} {title}"
        if n.mentions:
            text += "\n\n" + " ".join(f"@{m}" for m in n.mentions)
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
                "at": {"atMobiles": list(n.mentions), "isAtAll": False}}
    if spec.kind in ("feishu", "lark"):
        rows: list[list[dict[str, str]]] = []
        for line in lines(n, now, tz):
            label, _, value = line.partition("：")
            if value.startswith("http"):
                rows.append([{"tag": "a", "text": label, "href": value}])
            else:
                rows.append([{"tag": "text", "text": line}])
        title = headline(n)
        if spec.keyword and spec.keyword not in title:
            title = f"{spec.keyword} {title}"  # 飞书 关键词 security, as DingTalk's
        return {"msg_type": "post",
                "content": {"post": {"zh_cn": {"title": title, "content": rows}}}}
    if spec.kind == "sms":
        return {"to": to, "text": plain_text(n, now, tz, limit=SMS_LIMIT)}
    # The generic webhook: the text, and the fields the pre-issue-17 webhook carried.
    return {"text": plain_text(n, now, tz), "alert_id": n.alert_id, "priority": n.priority,
            "title": n.title, "reasons": list(n.reasons), "due_at": n.due_at.isoformat(),
            "link": n.alert_url, "ack_url": n.ack_url, "step": n.step, "test": n.test}


# ---------------------------------------------------------------- answers (pure)

# Codes that mean "not now, nothing delivered": safe to try again later.
_TOO_FAST = {"wecom": {45009}, "dingtalk": {130101, 410100}, "feishu": {11232, 9499},
             "lark": {11232, 9499}}
_WORDS = {310000: "关键词、签名或IP不符（DingTalk 310000: keywords/sign/ip rejected）",
          45009: "发送太频繁（WeCom 45009: rate limit, 20 a minute per robot）",
          93000: "机器人地址无效（WeCom 93000: invalid webhook key）",
          300001: "access_token 无效（DingTalk 300001）",
          19021: "签名校验失败（Feishu 19021: sign match fail）",
          19024: "关键词校验失败（Feishu 19024: keyword rejected）",
          130101: "发送太频繁（DingTalk 130101: too fast）", 11232: "发送太频繁（Feishu 11232）"}


def judge(kind: str, status: int, payload: Any) -> Result:
    """What a platform's answer means. Robots answer 200 with an error code in the body."""
    if status == 429:
        return Result("retry", "answered 429 (too many requests)")
    if not 200 <= status < 300:
        return Result("failed", f"answered {status}")
    if not isinstance(payload, dict):
        return Result("sent", f"answered {status}")
    raw: Any = payload.get("errcode", payload.get("code", payload.get("StatusCode", 0)))
    try:
        code = int(raw)
    except (TypeError, ValueError):
        return Result("failed", f"answered an unreadable code {raw!r}")
    if code == 0:
        return Result("sent", f"accepted ({status})")
    msg = str(payload.get("errmsg") or payload.get("msg") or payload.get("StatusMessage")
              or "")
    words = _WORDS.get(code, f"error {code}")
    outcome: Outcome = "retry" if code in _TOO_FAST.get(kind, set()) else "failed"
    return Result(outcome, f"{words}: {msg}".strip(": "))


# ---------------------------------------------------------------- sending


def _post(url: str, body: dict[str, Any], policy: SendPolicy,
          headers: Mapping[str, str] | None = None) -> tuple[int, Any] | Result:
    """One POST under the fetch rules; (status, JSON or None), or the Result of a failure."""
    try:
        _check_url(httpx.URL(url), allow_private=policy.allow_private)
    except FetchError as exc:
        return Result("failed", exc.message)
    try:
        with httpx.Client(timeout=policy.timeout, follow_redirects=False,
                          trust_env=False) as client, \
                client.stream("POST", url, json=body, headers=dict(headers or {})) as response:
            # While the connection is open (a server that closes after answering would
            # leave no peer to ask once the body is read).
            _check_peer(response, allow_private=policy.allow_private)
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if sum(map(len, chunks)) >= _MAX_ANSWER:
                    break  # enough to read a code; a server that never stops is not read
            raw = b"".join(chunks)[:_MAX_ANSWER]
            status = response.status_code
    except FetchError as exc:  # the peer turned out to be a refused address (DNS rebinding)
        return Result("unknown", f"{exc.message}; the request may have reached it")
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return Result("retry", f"unreachable: {exc}")
    except httpx.HTTPError as exc:
        return Result("unknown", f"{type(exc).__name__}: {exc}; not resent automatically")
    except OSError as exc:  # the socket went away under the peer check: the answer is lost
        return Result("unknown", f"connection lost: {exc}; not resent automatically")
    try:
        payload: Any = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    return status, payload


def send(spec: ChannelSpec, n: Notice, now: datetime, policy: SendPolicy,
         contact: Contact | None = None) -> Result:
    """Send one message; never raises for the other side's behaviour."""
    if spec.kind == "email":
        return _send_email(n, now, policy, contact)
    to = ""
    if spec.kind == "sms":
        if contact is None or not contact.phone:
            return Result("failed", "no mobile number for this person")
        to = contact.phone
    body = body_for(spec, n, now, policy.tz, to=to)
    url, headers = spec.endpoint, {}
    if spec.kind == "dingtalk" and spec.secret:
        ts = int(now.timestamp() * 1000)
        url += "&" + urlencode({"timestamp": ts, "sign": dingtalk_sign(spec.secret, ts)})
    if spec.kind in ("feishu", "lark") and spec.secret:
        ts = int(now.timestamp())
        body = {"timestamp": str(ts), "sign": feishu_sign(spec.secret, ts), **body}
    if spec.kind == "sms" and spec.token:
        headers["Authorization"] = f"Bearer {spec.token}"
    answer = _post(url, body, policy, headers)
    if isinstance(answer, Result):
        return answer
    return judge(spec.kind, *answer)


def _send_email(n: Notice, now: datetime, policy: SendPolicy,
                contact: Contact | None) -> Result:
    if contact is None or not contact.email:
        return Result("failed", "no e-mail address for this person")
    if policy.smtp is None:
        return Result("failed", "no SMTP settings")
    msg = EmailMessage()
    msg["Subject"] = headline(n)
    msg["To"] = contact.email
    msg["From"] = policy.smtp.sender
    msg.set_content(plain_text(n, now, policy.tz))
    d = mail.send(msg, policy.smtp)
    outcome: Outcome = {"sent": "sent", "temporary": "retry", "permanent": "failed"}.get(
        d.status, "unknown")  # type: ignore[assignment]
    return Result(outcome, f"e-mail {d.status}: {d.detail}"[:500])

"""The one place that does HTTP for feeds: safe, bounded, conditional GET.

Safety first, because source URLs are typed in by people and redirects are chosen by
strangers: only http/https, no private-network addresses (unless allowed, for tests and
intranet deployments), redirects followed by hand with every hop re-checked, a size cap
enforced while streaming, and a total deadline on top of httpx's connect/read timeouts.

Every failure is a `FetchError` whose message is a sentence an admin can read in the
source's last_error.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import httpx

from monitor.errors import FetchError
from monitor.settings_schema import FetchSection

__all__ = [
    "FetchPolicy", "FetchResult", "fetch", "parse_max_age", "parse_retry_after", "private_error",
    "shared_ssl_context",
]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MIB = 1024 * 1024
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchPolicy:
    """How one fetch is bounded. No field has a default: config/defaults.yaml (`fetch:`) is
    where they live, read through `from_section`; tests start from the shipped defaults."""

    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_bytes: int
    max_redirects: int
    allow_private: bool
    user_agent: str

    @classmethod
    def from_section(cls, fetch: FetchSection) -> FetchPolicy:
        """From `settings.fetch`, one to one. The section was checked when the settings
        were loaded (positive timeouts and size, redirects not negative): nothing to
        check again here."""
        return cls(
            connect_timeout=fetch.connect_timeout,
            read_timeout=fetch.read_timeout,
            total_timeout=fetch.total_timeout,
            max_bytes=fetch.max_bytes,
            max_redirects=fetch.max_redirects,
            allow_private=fetch.allow_private,
            user_agent=fetch.user_agent,
        )


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int  # 200 (any 2xx) or 304
    body: bytes  # b"" when not_modified
    not_modified: bool
    etag: str | None
    last_modified: str | None
    content_type: str | None
    max_age_s: float | None  # from Cache-Control max-age (None if absent / no-cache)
    retry_after_s: float | None  # from Retry-After on a 2xx/3xx, if any
    # The server's Date header: Weibo's relative times (5分钟前) count from it, not from our
    # clock (monitor.social.weibo).
    date: str | None = None
    # The body came from a private (allowed) address: errors about it must not quote it.
    private: bool = False


# -- header parsing (pure) -------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date after `now`."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> float | None:
    """max-age in seconds from Cache-Control; None if absent or no-cache/no-store."""
    if not cache_control:
        return None
    max_age: float | None = None
    for directive in cache_control.split(","):
        name, _, arg = directive.strip().partition("=")
        name = name.strip().lower()
        if name in {"no-cache", "no-store"}:
            return None
        if name == "max-age":
            arg = arg.strip().strip('"')
            if arg.isdigit():
                max_age = float(arg)
    return max_age


# -- URL and address checks --------------------------------------------------------------


# What `allow_private` opens, and nothing more: loopback and the RFC 1918 / RFC 4193 (ULA)
# ranges an intranet feed lives on. Link-local, the cloud metadata endpoints, multicast,
# reserved, unspecified and every other special range stay closed even then: a redirect or a
# rebound name must not turn an intranet source into a reader of instance credentials.
_PRIVATE_OK = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
# The metadata services of the clouds an office might run on: AWS, GCP, Azure, OpenStack
# (169.254.169.254, also link-local), AWS over IPv6 (a ULA address, so allow_private alone
# would have let it through) and Alibaba Cloud (100.100.100.200, carrier-grade NAT space).
_METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# Names that reach a metadata service through the cloud's own resolver, refused by name
# before any lookup (the resolver here may not know them; the one on the instance does).
_METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.tencentyun.com", "metadata.azure.internal",
})  # fmt: skip


def _address_problem(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool = False
) -> str | None:
    """Why an address must not be fetched, or None when it may be: a public address, or with
    `allow_private` a loopback or RFC 1918/ULA one."""
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: judge the IPv4 one.
        if ip.ipv4_mapped is not None:  # ::ffff:10.0.0.1
            return _address_problem(ip.ipv4_mapped, allow_private=allow_private)
        if ip in _NAT64:  # 64:ff9b::10.0.0.1 through a NAT64 gateway
            return _address_problem(
                ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), allow_private=allow_private
            )
        if ip.sixtofour is not None:  # 2002:0a00:0001::/48 is 6to4 for 10.0.0.1
            return _address_problem(ip.sixtofour, allow_private=allow_private)
    if ip in _METADATA_IPS:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:  # before is_reserved: Python counts ::1 as reserved (::/8)
        return None if allow_private else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:  # before is_private: Python counts 240.0.0.0/4 as both
        return "a reserved address"
    if any(ip in net for net in _PRIVATE_OK):
        return None if allow_private else "a private network address"
    if ip.is_private:  # documentation, benchmarking, "this network" (0/8) …: never a feed
        return "a private network address"
    if not ip.is_global:  # e.g. 100.64.0.0/10 carrier-grade NAT, 6to4/NAT64 oddities
        return "not a public internet address"
    return None


def _check_url(url: httpx.URL, *, allow_private: bool) -> bool:
    """Refuse non-http(s) URLs and hosts that resolve to addresses we do not fetch from.

    Every address the name resolves to is checked, not just the first, so a name with one
    public and one private record cannot slip through. `allow_private` opens loopback and
    the private ranges only (see _address_problem); it is checked on every hop all the same.
    True when the host is such a private (allowed) address.
    """
    scheme = url.scheme.lower()
    if scheme not in {"http", "https"}:
        raise FetchError(
            f"refused: only http and https URLs are fetched (got {scheme or 'no scheme'})",
            kind="blocked_url",
        )
    host = url.host
    if not host:
        raise FetchError(f"refused: the URL {url} has no host name", kind="blocked_url")
    if host.rstrip(".").lower() in _METADATA_NAMES:
        raise FetchError(f"refused: {host} is a cloud metadata service", kind="blocked_url")
    try:
        literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
            host.strip("[]")
        )
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        port = url.port or (443 if scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"could not resolve host {host}: {exc}", kind="network") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for ip in addresses:
        problem = _address_problem(ip, allow_private=allow_private)
        if problem:
            raise FetchError(f"refused: {ip} is {problem}", kind="blocked_url")
    return any(_address_problem(ip) is not None for ip in addresses)


def _peer_address(
    response: httpx.Response,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    if not peer:
        return None
    return ipaddress.ip_address(str(peer[0]).split("%", 1)[0])


def _check_peer(response: httpx.Response, *, allow_private: bool) -> bool:
    """Re-check the address actually connected to (closes most of the DNS-rebinding gap:
    the name could resolve differently between our check and httpx's connect). Done with
    `allow_private` too: a rebound name must not reach the metadata address. True when the
    peer is a private (allowed) address, whose bodies are then not quoted in errors."""
    ip = _peer_address(response)
    if ip is None:
        return False
    problem = _address_problem(ip, allow_private=allow_private)
    if problem:
        raise FetchError(f"refused: {ip} is {problem}", kind="blocked_url")
    return _address_problem(ip) is not None


def private_error(message: str) -> str:
    """The sentence kept in a source's last_error for a parse failure of a body fetched
    from a private address (FetchResult.private): the reason without any quoted bytes, so
    a private page's first characters never travel into the desk (issue 14, item 1)."""
    head, sep, _ = message.partition(" (it starts with")
    return head if sep else message


# -- reading the body --------------------------------------------------------------------


def _decoder(encoding: str | None) -> Any:
    """A zlib decompressor for gzip/deflate, or None for identity.

    We decode ourselves (instead of httpx's iter_bytes) so the size cap applies to the
    *decompressed* size chunk by chunk: a small gzip bomb cannot expand to gigabytes.
    """
    enc = (encoding or "identity").strip().lower()
    if enc in {"identity", ""}:
        return None
    if enc in {"gzip", "x-gzip"}:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported content encoding {enc!r}", kind="network")


def _limit_text(max_bytes: int) -> str:
    return f"response larger than the {max_bytes / _MIB:.1f} MiB limit"


def _read_body(
    response: httpx.Response, *, max_bytes: int, deadline: float, total_timeout: float
) -> bytes:
    decoder = _decoder(response.headers.get("content-encoding"))
    parts: list[bytes] = []
    size = 0

    def add(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > max_bytes:
            raise FetchError(_limit_text(max_bytes), kind="too_large")
        parts.append(data)

    raw: Iterator[bytes] = response.iter_raw()
    for chunk in raw:
        if time.monotonic() > deadline:
            raise FetchError(
                f"response not complete within {total_timeout:g} s (total timeout)",
                kind="timeout",
            )
        if decoder is None:
            add(chunk)
            continue
        try:
            data = decoder.decompress(chunk, max_bytes + 1 - size)
            add(data)
            while decoder.unconsumed_tail:
                add(decoder.decompress(decoder.unconsumed_tail, max_bytes + 1 - size))
        except zlib.error as exc:
            raise FetchError(f"the compressed response is corrupt: {exc}", kind="network") from exc
    if decoder is not None:
        try:
            add(decoder.flush())
        except zlib.error as exc:
            raise FetchError(f"the compressed response is corrupt: {exc}", kind="network") from exc
    return b"".join(parts)


# -- errors for people -------------------------------------------------------------------


def _reason(status: int, fallback: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return fallback or "Unknown Status"


def _status_error(status: int, reason: str, url: str, retry_after_s: float | None) -> FetchError:
    text = f"HTTP {status} {reason} from {url}"
    if status == 410:
        text += ": the feed is gone (removed permanently); check the source's address"
    if retry_after_s is not None:
        text += f"; retry after {retry_after_s:g} s"
    return FetchError(text, kind="http_status", status=status, retry_after_s=retry_after_s)


def _transport_error(exc: httpx.TransportError, url: str, policy: FetchPolicy) -> FetchError:
    if isinstance(exc, httpx.ConnectTimeout):
        text = f"could not connect within {policy.connect_timeout:g} s (connect timeout) to {url}"
        return FetchError(text, kind="timeout")
    if isinstance(exc, httpx.ReadTimeout):
        return FetchError(
            f"no response within {policy.read_timeout:g} s (read timeout) from {url}",
            kind="timeout",
        )
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out talking to {url}: {exc}", kind="timeout")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FetchError(f"refused: unsupported URL {url}", kind="blocked_url")
    detail = str(exc) or type(exc).__name__
    return FetchError(f"network error talking to {url}: {detail}", kind="network")


# -- the fetch ---------------------------------------------------------------------------


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context every client in this process uses, built on
    first use (loading the CA bundle costs ~0.1 s of CPU: paid once per process, not once
    per client). Read-only after it is built, so threads may share it."""
    return httpx.create_ssl_context()  # what httpx builds for each client by default


def fetch(
    url: str,
    *,
    policy: FetchPolicy,
    now: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    client: httpx.Client | None = None,
) -> FetchResult:
    """GET `url` conditionally; 2xx → body, 304 → not_modified, anything else FetchError.

    `now` only turns an HTTP-date Retry-After into seconds; the deadline uses the monotonic
    clock. A passed-in `client` is used as is (tests, connection reuse) but redirects are
    still followed here, hop by hop.
    """
    private_ok = policy.allow_private or allow_private
    deadline = time.monotonic() + policy.total_timeout
    own_client = client is None
    if client is None:
        # trust_env=False: an environment proxy would bypass the address checks above.
        client = httpx.Client(follow_redirects=False, trust_env=False,
                              verify=shared_ssl_context())
    try:
        return _fetch_hops(
            url, client, policy=policy, now=now, etag=etag, last_modified=last_modified,
            private_ok=private_ok, deadline=deadline,
        )  # fmt: skip
    finally:
        if own_client:
            client.close()


def _fetch_hops(
    url: str,
    client: httpx.Client,
    *,
    policy: FetchPolicy,
    now: datetime,
    etag: str | None,
    last_modified: str | None,
    private_ok: bool,
    deadline: float,
) -> FetchResult:
    try:
        current = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(
            f"refused: {url!r} is not a valid URL ({exc})", kind="blocked_url"
        ) from exc
    headers = {
        "User-Agent": policy.user_agent,
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
        "text/xml;q=0.9, */*;q=0.5",
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    for hop in range(policy.max_redirects + 1):
        private_host = _check_url(current, allow_private=private_ok)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(
                f"response not complete within {policy.total_timeout:g} s (total timeout)",
                kind="timeout",
            )
        timeout = httpx.Timeout(
            connect=min(policy.connect_timeout, remaining),
            read=min(policy.read_timeout, remaining),
            write=min(policy.read_timeout, remaining),
            pool=min(policy.connect_timeout, remaining),
        )
        request = client.build_request("GET", current, headers=headers, timeout=timeout)
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.TransportError as exc:
            raise _transport_error(exc, str(current), policy) from exc
        try:
            private_peer = _check_peer(response, allow_private=private_ok) or private_host
            status = response.status_code
            retry_after = parse_retry_after(response.headers.get("retry-after"), now)
            if status in _REDIRECTS and response.headers.get("location"):
                if hop == policy.max_redirects:
                    raise FetchError(
                        f"too many redirects (more than {policy.max_redirects})",
                        kind="too_many_redirects",
                    )
                try:
                    current = current.join(response.headers["location"].strip())
                except httpx.InvalidURL as exc:
                    raise FetchError(
                        f"redirect from {current} to an invalid URL", kind="blocked_url"
                    ) from exc
                continue
            if status == 304:
                # A 304 has no body (RFC 9110), but the connection goes back to the
                # keep-alive pool only once its response was read to the end: closed
                # unread, every conditional GET paid a new TCP connection.
                response.read()
                return FetchResult(
                    url=str(current), status=304, body=b"", not_modified=True,
                    etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified,
                    content_type=response.headers.get("content-type"),
                    max_age_s=parse_max_age(response.headers.get("cache-control")),
                    retry_after_s=retry_after, private=private_peer,
                )  # fmt: skip
            if not 200 <= status < 300:
                raise _status_error(
                    status, _reason(status, response.reason_phrase), str(current), retry_after
                )
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(_limit_text(policy.max_bytes), kind="too_large")
            body = _read_body(
                response, max_bytes=policy.max_bytes, deadline=deadline,
                total_timeout=policy.total_timeout,
            )  # fmt: skip
            return FetchResult(
                url=str(current), status=status, body=body, not_modified=False,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                content_type=response.headers.get("content-type"),
                max_age_s=parse_max_age(response.headers.get("cache-control")),
                retry_after_s=retry_after, date=response.headers.get("date"),
                private=private_peer,
            )  # fmt: skip
        except httpx.TransportError as exc:
            raise _transport_error(exc, str(current), policy) from exc
        finally:
            response.close()
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

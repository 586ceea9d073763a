"""monitor.fetch against a real loopback server (tests/support/fake_web.py).

The loopback server is itself a private address, so happy-path tests pass
allow_private=True; the refusal tests leave it off and check no request was even made.
"""

from __future__ import annotations

import gzip
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor import fetch as fetch_module
from monitor.errors import ConfigError, FetchError, ParseError
from monitor.feeds import parse_feed
from monitor.fetch import FetchPolicy, fetch, parse_max_age, parse_retry_after
from monitor.settings import load_settings
from monitor.yamlfile import read_yaml
from tests.support.fake_web import FakeWeb, Response, fake_web  # noqa: F401 - fixture
from tests.support.settings import defaults

NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
FEED = "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>河南司法</title></channel></rss>".encode()  # noqa: E501
SHIPPED = FetchPolicy.from_section(defaults().fetch)
# Short timeouts so failure tests finish quickly; nothing asserts how long they took.
POLICY = replace(SHIPPED, connect_timeout=2.0, read_timeout=0.5, total_timeout=2.0)


def get(web: FakeWeb, path: str, policy: FetchPolicy = POLICY, **kw: Any) -> Any:
    return fetch(web.url(path), policy=policy, now=NOW, allow_private=True, **kw)


def fetch_error(call: Callable[[], object]) -> FetchError:
    with pytest.raises(FetchError) as info:
        call()
    return info.value


# -- success and conditional GET -----------------------------------------------------------


def test_200_returns_body_validators_and_headers(fake_web: FakeWeb) -> None:
    fake_web.add_feed(
        "/feed.xml", FEED, etag='"abc"', last_modified="Fri, 20 Nov 2026 01:00:00 GMT",
        extra_headers={"Cache-Control": "public, max-age=1800", "Retry-After": "60"},
    )  # fmt: skip
    result = get(fake_web, "/feed.xml")
    assert result.status == 200
    assert result.body == FEED
    assert not result.not_modified
    assert result.etag == '"abc"'
    assert result.last_modified == "Fri, 20 Nov 2026 01:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.max_age_s == 1800
    assert result.retry_after_s == 60
    assert result.url == fake_web.url("/feed.xml")
    sent = fake_web.requests_to("/feed.xml")[0].headers
    assert sent["user-agent"] == POLICY.user_agent
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_conditional_get_with_etag_gives_304(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/feed.xml", FEED, etag='"v7"')
    first = get(fake_web, "/feed.xml")
    second = get(fake_web, "/feed.xml", etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == '"v7"'
    assert fake_web.hits("/feed.xml") == 2
    assert fake_web.requests_to("/feed.xml")[1].headers["if-none-match"] == '"v7"'


def test_conditional_get_with_last_modified_only(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/feed.xml", FEED, etag=None, last_modified="Fri, 20 Nov 2026 01:00:00 GMT")
    result = get(fake_web, "/feed.xml", last_modified="Fri, 20 Nov 2026 01:00:00 GMT")
    assert result.not_modified
    sent = fake_web.requests_to("/feed.xml")[0].headers
    assert sent["if-modified-since"] == "Fri, 20 Nov 2026 01:00:00 GMT"


def test_changed_feed_with_stale_etag_gives_new_body(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/feed.xml", FEED, etag='"v2"')
    result = get(fake_web, "/feed.xml", etag='"v1"')
    assert not result.not_modified and result.body == FEED and result.etag == '"v2"'


def test_304_without_validators_keeps_the_old_ones(fake_web: FakeWeb) -> None:
    fake_web.add("/feed.xml", 304)
    result = get(fake_web, "/feed.xml", etag='"old"', last_modified="Thu, 19 Nov 2026 00:00:00 GMT")
    assert result.not_modified
    assert result.etag == '"old"'
    assert result.last_modified == "Thu, 19 Nov 2026 00:00:00 GMT"


def test_gzip_body_is_decoded(fake_web: FakeWeb) -> None:
    fake_web.add("/gz", 200, gzip.compress(FEED), {"Content-Encoding": "gzip"})
    assert get(fake_web, "/gz").body == FEED
    assert "gzip" in fake_web.requests_to("/gz")[0].headers["accept-encoding"]


# -- HTTP errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "expected_text", "retry_after"),
    [
        (404, {}, "HTTP 404 Not Found from http://", None),
        (410, {}, "the feed is gone", None),
        (500, {}, "HTTP 500 Internal Server Error", None),
        (429, {"Retry-After": "120"}, "HTTP 429 Too Many Requests", 120.0),
        # An HTTP-date Retry-After is relative to the `now` passed in: 01:30 → 01:35.
        (503, {"Retry-After": "Fri, 20 Nov 2026 01:35:00 GMT"}, "HTTP 503", 300.0),
        (403, {"Retry-After": "soon"}, "HTTP 403 Forbidden", None),
    ],
)
def test_http_errors(
    fake_web: FakeWeb, status: int, headers: dict[str, str], expected_text: str,
    retry_after: float | None,
) -> None:  # fmt: skip
    fake_web.add("/feed.xml", status, b"error page", headers)
    err = fetch_error(lambda: get(fake_web, "/feed.xml"))
    assert err.kind == "http_status"
    assert err.status == status
    assert expected_text in err.message
    assert err.retry_after_s == retry_after
    if retry_after is not None:
        assert f"retry after {retry_after:g} s" in err.message


# -- timeouts and size ---------------------------------------------------------------------


def test_never_answering_server_is_a_read_timeout(fake_web: FakeWeb) -> None:
    fake_web.add_never_answering("/slow")
    err = fetch_error(lambda: get(fake_web, "/slow"))
    assert err.kind == "timeout"
    assert "no response within 0.5 s (read timeout)" in err.message


def test_trickling_body_hits_the_total_deadline(fake_web: FakeWeb) -> None:
    # A byte every 50 ms never trips the 0.5 s read timeout; only the total deadline can.
    fake_web.add_trickle("/trickle", every_s=0.05)
    err = fetch_error(lambda: get(fake_web, "/trickle"))
    assert err.kind == "timeout"
    assert "total timeout" in err.message


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = fetch_error(
        lambda: fetch(f"http://127.0.0.1:{port}/feed", policy=POLICY, now=NOW, allow_private=True)
    )
    assert err.kind == "network"


@pytest.mark.parametrize("declare_length", [True, False])
def test_50_mb_body_is_refused_without_buffering(fake_web: FakeWeb, declare_length: bool) -> None:
    fake_web.add_huge("/huge", size=50 * 1024 * 1024, declare_length=declare_length)
    policy = replace(SHIPPED, read_timeout=5.0, total_timeout=20.0, max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        err = fetch_error(lambda: get(fake_web, "/huge", policy))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.kind == "too_large"
    assert err.message == "response larger than the 1.0 MiB limit"
    assert peak < 8 * 1024 * 1024  # far below 50 MB: we stopped reading


def test_gzip_bomb_is_refused(fake_web: FakeWeb) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # ~20 KB on the wire
    fake_web.add("/bomb", 200, bomb, {"Content-Encoding": "gzip"})
    policy = replace(SHIPPED, read_timeout=5.0, total_timeout=20.0, max_bytes=1024 * 1024)
    assert fetch_error(lambda: get(fake_web, "/bomb", policy)).kind == "too_large"


def test_body_at_exactly_the_limit_is_accepted(fake_web: FakeWeb) -> None:
    fake_web.add("/exact", 200, b"x" * 1000)
    assert len(get(fake_web, "/exact", replace(SHIPPED, max_bytes=1000)).body) == 1000
    fake_web.add("/over", 200, b"x" * 1001)
    assert fetch_error(lambda: get(fake_web, "/over", replace(SHIPPED, max_bytes=1000))).kind == (
        "too_large"
    )


# -- redirects -----------------------------------------------------------------------------


def test_redirect_chain_is_followed_to_the_final_url(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/final.xml", FEED)
    hops = fake_web.add_redirect_chain("/r", 3, "/final.xml")
    result = get(fake_web, hops[0])
    assert result.body == FEED
    assert result.url == fake_web.url("/final.xml")
    assert [fake_web.hits(p) for p in hops] == [1, 1, 1]


def test_relative_and_absolute_locations(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/dir/final.xml", FEED)
    fake_web.add_redirect("/a", fake_web.url("/dir/b"), status=301)
    fake_web.add_redirect("/dir/b", "final.xml", status=308)
    assert get(fake_web, "/a").url == fake_web.url("/dir/final.xml")


@pytest.mark.parametrize(("hops", "ok"), [(5, True), (6, False)])
def test_at_most_max_redirects(fake_web: FakeWeb, hops: int, ok: bool) -> None:
    fake_web.add_feed("/final.xml", FEED)
    paths = fake_web.add_redirect_chain("/r", hops, "/final.xml")
    if ok:
        assert get(fake_web, paths[0]).body == FEED
    else:
        err = fetch_error(lambda: get(fake_web, paths[0]))
        assert err.kind == "too_many_redirects"
        assert err.message == "too many redirects (more than 5)"
        assert fake_web.hits("/final.xml") == 0


def test_redirect_loop_stops(fake_web: FakeWeb) -> None:
    fake_web.add_redirect("/a", "/b")
    fake_web.add_redirect("/b", "/a")
    err = fetch_error(lambda: get(fake_web, "/a"))
    assert err.kind == "too_many_redirects"
    assert fake_web.hits("/a") + fake_web.hits("/b") == POLICY.max_redirects + 1


def test_redirect_to_file_url_is_refused(fake_web: FakeWeb) -> None:
    fake_web.add_redirect("/a", "file:///etc/passwd")
    err = fetch_error(lambda: get(fake_web, "/a"))
    assert err.kind == "blocked_url"
    assert "(got file)" in err.message


# -- refusing URLs and private addresses ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("file:///etc/passwd", "file"),
        ("ftp://ftp.example.cn/feed.xml", "ftp"),
        ("data:text/xml,<rss/>", "data"),
        ("gopher://example.cn/", "gopher"),
        ("javascript:alert(1)", "javascript"),
        ("FILE:///etc/passwd", "file"),
    ],
)
def test_non_http_schemes_are_refused(url: str, scheme: str) -> None:
    err = fetch_error(lambda: fetch(url, policy=POLICY, now=NOW, allow_private=True))
    assert err.kind == "blocked_url"
    assert err.message == f"refused: only http and https URLs are fetched (got {scheme})"


def test_loopback_server_is_refused_unless_allowed(fake_web: FakeWeb) -> None:
    fake_web.add_feed("/feed.xml", FEED)
    err = fetch_error(lambda: fetch(fake_web.url("/feed.xml"), policy=POLICY, now=NOW))
    assert err.kind == "blocked_url"
    assert err.message == "refused: 127.0.0.1 is a loopback address"
    assert fake_web.hits("/feed.xml") == 0  # refused before connecting
    # …and the policy switch allows it as well as the argument does.
    allowed = replace(SHIPPED, read_timeout=0.5, allow_private=True)
    assert fetch(fake_web.url("/feed.xml"), policy=allowed, now=NOW).body == FEED


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://10.1.2.3/feed", "refused: 10.1.2.3 is a private network address"),
        ("http://192.168.1.1/", "refused: 192.168.1.1 is a private network address"),
        ("http://172.16.0.9/", "refused: 172.16.0.9 is a private network address"),
        ("http://127.8.8.8/", "refused: 127.8.8.8 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "is a cloud metadata address"),
        ("http://0.0.0.0:8080/", "refused: 0.0.0.0 is an unspecified address"),
        ("http://224.0.0.1/", "is a multicast address"),
        ("http://240.0.0.1/", "is a reserved address"),
        ("http://100.64.0.1/", "not a public internet address"),
        ("http://[::1]/", "refused: ::1 is a loopback address"),
        ("http://[::]/", "an unspecified address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fc00::1]/", "private network address"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private network address"),
        ("http://[64:ff9b::a00:1]/", "private network address"),  # NAT64 of 10.0.0.1
        ("http://[2002:a00:1::1]/", "private network address"),  # 6to4 of 10.0.0.1
    ],
)
def test_private_address_literals_are_refused(url: str, expected: str) -> None:
    err = fetch_error(lambda: fetch(url, policy=POLICY, now=NOW))
    assert err.kind == "blocked_url"
    assert expected in err.message


PUBLIC_IP = "220.181.38.148"


def fake_dns(table: dict[str, list[str]]) -> Callable[..., list[Any]]:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (ip, port))
            for ip in table[host]
        ]  # fmt: skip

    return getaddrinfo


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (["169.254.169.254"], "refused: 169.254.169.254 is a cloud metadata address"),
        # One private record among public ones is enough to refuse.
        ([PUBLIC_IP, "10.0.0.5"], "refused: 10.0.0.5 is a private network address"),
        (["fd12:3456::1"], "private network address"),
    ],
)
def test_host_names_resolving_to_private_addresses_are_refused(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str], expected: str
) -> None:
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake_dns({"feeds.evil.cn": addresses}))
    err = fetch_error(lambda: fetch("http://feeds.evil.cn/rss", policy=POLICY, now=NOW))
    assert err.kind == "blocked_url"
    assert expected in err.message


def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", fake_dns({}))
    err = fetch_error(lambda: fetch("https://no-such-host.cn/rss", policy=POLICY, now=NOW))
    assert err.kind == "network"
    assert err.message.startswith("could not resolve host no-such-host.cn")


def test_redirect_from_public_to_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each hop is re-checked: a public feed may not bounce us into the intranet."""
    monkeypatch.setattr(
        fetch_module.socket, "getaddrinfo",
        fake_dns({"www.hnsft.gov.cn": [PUBLIC_IP], "intranet.hnsft.local": ["192.168.10.20"]}),
    )  # fmt: skip
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "www.hnsft.gov.cn" and request.url.path == "/rss":
            return httpx.Response(302, headers={"Location": "http://10.1.2.3/admin"})
        if request.url.host == "www.hnsft.gov.cn":
            return httpx.Response(302, headers={"Location": "http://intranet.hnsft.local/"})
        return httpx.Response(200, content=b"secret")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        err = fetch_error(
            lambda: fetch("https://www.hnsft.gov.cn/rss", policy=POLICY, now=NOW, client=client)
        )
        assert err.message == "refused: 10.1.2.3 is a private network address"
        err = fetch_error(
            lambda: fetch("https://www.hnsft.gov.cn/x", policy=POLICY, now=NOW, client=client)
        )
        assert err.message == "refused: 192.168.10.20 is a private network address"
    assert seen == ["https://www.hnsft.gov.cn/rss", "https://www.hnsft.gov.cn/x"]


# -- wrong content ---------------------------------------------------------------------------


def test_html_page_instead_of_a_feed_is_fetched_then_refused_by_the_parser(
    fake_web: FakeWeb,
) -> None:
    page = "<!DOCTYPE html><html><head><title>河南省司法厅</title></head><body>首页</body></html>"
    fake_web.add("/feed.xml", 200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
    result = get(fake_web, "/feed.xml")
    assert result.content_type == "text/html; charset=utf-8"
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(result.body, content_type=result.content_type)


def test_custom_handler_route(fake_web: FakeWeb) -> None:
    fake_web.route("/echo", lambda req: Response(200, {}, req.headers["user-agent"].encode()))
    assert get(fake_web, "/echo").body == POLICY.user_agent.encode()


# -- header parsing and settings -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), ("", None), ("120", 120.0), (" 0 ", 0.0), ("-5", None), ("soon", None),
        ("Fri, 20 Nov 2026 01:32:00 GMT", 120.0),
        ("Fri, 20 Nov 2026 01:00:00 GMT", 0.0),  # in the past: retry now
    ],
)  # fmt: skip
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None), ("", None), ("max-age=600", 600.0), ("public, max-age=60, must-revalidate",
        60.0), ("no-cache, max-age=600", None), ("max-age=600, no-store", None),
        ("max-age=abc", None), ('max-age="30"', 30.0), ("private", None),
    ],
)  # fmt: skip
def test_parse_max_age(value: str | None, expected: float | None) -> None:
    assert parse_max_age(value) == expected


def test_policy_from_section() -> None:
    settings = load_settings(env={}, overrides={"fetch": {"read_timeout": 7, "max_bytes": 1000}})
    policy = FetchPolicy.from_section(settings.fetch)
    assert policy.read_timeout == 7.0
    assert policy.max_bytes == 1000
    assert policy.connect_timeout == 5.0
    assert policy.allow_private is False
    # Nothing set: the policy is config/defaults.yaml's fetch section, key for key.
    shipped = read_yaml(defaults().config_dir / "defaults.yaml")["fetch"]
    assert FetchPolicy.from_section(load_settings(env={}).fetch) == FetchPolicy(**shipped)


@pytest.mark.parametrize(
    "section",
    [{"read_timeout": "fast"}, {"max_bytes": 0}, {"allow_private": "maybe"},
     {"max_redirects": -1}, {"total_timeout": -3}],
)  # fmt: skip
def test_policy_from_bad_settings(section: dict[str, object]) -> None:
    # Checked once, when the settings load: a policy is never built from bad values.
    with pytest.raises(ConfigError):
        load_settings(env={}, overrides={"fetch": section})


def test_connected_address_is_rechecked_against_dns_rebinding(
    fake_web: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the name resolved to a public address at check time but the connection lands on a
    private one (DNS rebinding), the address actually connected to is refused too."""
    fake_web.add_feed("/feed.xml", FEED)
    monkeypatch.setattr(fetch_module, "_check_url", lambda url, allow_private: None)
    err = fetch_error(lambda: fetch(fake_web.url("/feed.xml"), policy=POLICY, now=NOW))
    assert err.message == "refused: 127.0.0.1 is a loopback address"
    assert err.kind == "blocked_url"


# -- allow_private opens loopback and RFC 1918/ULA, never metadata or link-local (issue 14) -


class _Peer:
    """What httpcore's network stream answers for the connected address: lets a mock
    transport say "the connection landed on X" without any connection being made."""

    def __init__(self, ip: str) -> None:
        self.ip = ip

    def get_extra_info(self, name: str) -> Any:
        return (self.ip, 80) if name == "server_addr" else None


class _Body(httpx.SyncByteStream):
    """A response body the fetcher streams (content= would be read up front)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data


def never_contacted() -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, stream=_Body(b"ami-id\ninstance-id\n"))

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://169.254.1.7/", "169.254.1.7 is a link-local address"),
        ("http://100.100.100.200/latest/meta-data/", "is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://[::ffff:169.254.169.254]/", "is a cloud metadata address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0:8080/", "an unspecified address"),
        ("http://[::]/", "an unspecified address"),
        ("http://224.0.0.251/", "a multicast address"),
        ("http://[ff02::1]/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://100.64.0.1/", "not a public internet address"),
        ("http://192.0.2.10/", "private network address"),  # documentation range: not an intranet
        ("http://metadata.google.internal/computeMetadata/v1/", "is a cloud metadata service"),
        ("http://METADATA.google.internal./", "is a cloud metadata service"),
    ],
)
def test_allow_private_still_refuses_metadata_link_local_and_special(
    url: str, expected: str
) -> None:
    client, seen = never_contacted()
    with client:
        for allowed in (True, False):
            err = fetch_error(lambda a=allowed: fetch(url, policy=POLICY, now=NOW,
                                                      allow_private=a, client=client))
            assert err.kind == "blocked_url"
            assert expected in err.message
    assert seen == []  # no request was even handed to the transport


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/rss", "http://172.20.0.5/rss", "http://192.168.1.1/rss",
            "http://127.0.0.1:8080/rss", "http://[fd12:3456::1]/rss", "http://[::1]/rss"],
)  # fmt: skip
def test_allow_private_opens_loopback_and_private_ranges(url: str) -> None:
    client, seen = never_contacted()
    with client:
        result = fetch(url, policy=POLICY, now=NOW, allow_private=True, client=client)
    assert result.status == 200 and result.private is True
    assert seen == [url]


def test_allow_private_name_resolving_to_metadata_is_never_contacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo",
                        fake_dns({"feeds.intranet.cn": ["169.254.169.254"]}))
    client, seen = never_contacted()
    with client:
        err = fetch_error(lambda: fetch("http://feeds.intranet.cn/rss", policy=POLICY, now=NOW,
                                        allow_private=True, client=client))
    assert err.message == "refused: 169.254.169.254 is a cloud metadata address"
    assert seen == []


def test_allow_private_redirect_to_metadata_is_refused_on_the_hop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reported attack: an intranet source (allowed private) redirects to the metadata
    address; the second hop is checked and never requested."""
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo",
                        fake_dns({"feeds.intranet.cn": ["10.0.0.8"],
                                  "evil.example.cn": ["169.254.169.254"]}))
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/rss":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})
        if request.url.path == "/rss2":
            return httpx.Response(302, headers={"Location": "http://evil.example.cn/x"})
        return httpx.Response(200, content=b"secret")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for path in ("/rss", "/rss2"):
            err = fetch_error(lambda p=path: fetch(
                f"http://feeds.intranet.cn{p}", policy=POLICY, now=NOW, allow_private=True,
                client=client))
            assert err.kind == "blocked_url"
            assert "169.254.169.254 is a cloud metadata address" in err.message
    assert seen == ["http://feeds.intranet.cn/rss", "http://feeds.intranet.cn/rss2"]


@pytest.mark.parametrize("peer", ["169.254.169.254", "fd00:ec2::254", "169.254.7.7"])
def test_rebound_connection_to_metadata_is_refused_even_with_allow_private(
    monkeypatch: pytest.MonkeyPatch, peer: str
) -> None:
    """DNS said 10.0.0.8 when checked, the connection landed on the metadata address: the
    connected peer is checked with allow_private too, and its body is never read."""
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo",
                        fake_dns({"feeds.intranet.cn": ["10.0.0.8"]}))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Body(b"AccessKeyId"),
                              extensions={"network_stream": _Peer(peer)})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        err = fetch_error(lambda: fetch("http://feeds.intranet.cn/rss", policy=POLICY, now=NOW,
                                        allow_private=True, client=client))
    assert err.kind == "blocked_url"
    assert f"refused: {peer} is a" in err.message


def test_public_body_is_not_private_and_private_errors_quote_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo",
                        fake_dns({"www.hnsft.gov.cn": [PUBLIC_IP]}))
    client, _ = never_contacted()
    with client:
        public = fetch("https://www.hnsft.gov.cn/rss", policy=POLICY, now=NOW, client=client)
    assert public.private is False
    # The parser quotes a non-feed body's first characters; for a private body the message
    # kept as last_error is the reason alone.
    with pytest.raises(ParseError) as info:
        parse_feed(b"root:x:0:0:root:/root:/bin/bash", content_type="text/plain")
    quoted = str(info.value)
    assert "root:x:0:0" in quoted
    kept = fetch_module.private_error(quoted)
    assert kept == "not a feed: the response is not XML"
    assert fetch_module.private_error("HTTP 404 Not Found") == "HTTP 404 Not Found"

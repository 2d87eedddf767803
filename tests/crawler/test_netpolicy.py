"""The network policy for URLs found in content: schemes, non-public addresses, origins, allow list.

Non-loopback addresses (169.254.169.254, 10.0.0.1...) are only ever judged here, as values: no test
sends traffic to them. The middleware test feeds it IP-literal URLs, which it judges without resolving
or connecting.
"""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest
from scrapy import Request

from crawler.middlewares import TRUSTED_META, NetPolicyMiddleware, RefusedURL
from crawler.netpolicy import AllowList, parse_allow_networks, refusal
from crawler.options import CrawlOptions

ip_address = ipaddress.ip_address

SOURCE = "https://news.example/feed.xml"
NOTHING = AllowList()


@pytest.mark.parametrize("url", [
    "file:///etc/hostname", "file://localhost/etc/hostname", "FILE:///etc/passwd", "ftp://news.example/a",
    "data:text/html,<p>x</p>", "javascript:alert(1)", "mailto:desk@news.example",
    "tag:news.example,2026:1", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "s3://bucket/key", "/relative",
])
def test_only_http_and_https_are_fetched(url: str) -> None:
    assert "is not http(s)" in (refusal(url, None, trusted_url=SOURCE, allow=NOTHING) or "")


@pytest.mark.parametrize(("url", "kind"), [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.0.0.1/admin", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://127.0.0.2:8080/", "loopback"),
    ("http://0.0.0.0:9000/", "unspecified"),
    ("http://224.0.0.251/", "multicast"),
    ("http://100.64.0.1/", "not globally routable"),
    ("http://[::1]:8080/", "loopback"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::5]/", "private"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[::]/", "unspecified"),
    ("http://[::ffff:127.0.0.1]/", "loopback (carried in IPv6)"),
    ("http://[::ffff:169.254.169.254]/", "link-local (carried in IPv6)"),
    ("http://[2002:a00:1::]/", "private (carried in IPv6)"),  # 6to4 wrapping 10.0.0.1
    ("http://[64:ff9b::a00:1]/", "private (carried in IPv6)"),  # NAT64 wrapping 10.0.0.1
])
def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    reason = refusal(url, None, trusted_url=SOURCE, allow=NOTHING)
    assert reason is not None and reason.startswith(f"{kind} address")
    assert "crawl.allow_networks" in reason


def test_a_resolved_address_is_what_counts() -> None:
    # the host name looks harmless; the address it resolved to decides
    reason = refusal("http://metadata.news.example/", ip_address("169.254.169.254"), trusted_url=SOURCE, allow=NOTHING)
    assert reason is not None and reason.startswith("link-local address 169.254.169.254")
    assert refusal("http://cdn.news.example/a", ip_address("93.184.216.34"), trusted_url=SOURCE, allow=NOTHING) is None
    assert refusal("https://[2606:4700::1111]/a", None, trusted_url=SOURCE, allow=NOTHING) is None


def test_the_sources_own_origin_is_trusted() -> None:
    feed = "http://127.0.0.1:8000/feed.xml"
    assert refusal("http://127.0.0.1:8000/news/1", None, trusted_url=feed, allow=NOTHING) is None
    assert refusal("HTTP://127.0.0.1:8000/x", ip_address("127.0.0.1"), trusted_url=feed, allow=NOTHING) is None
    assert refusal("http://10.1.1.1/a", None, trusted_url="http://10.1.1.1:80/feed", allow=NOTHING) is None
    for other in ("http://127.0.0.1:8001/news/1", "https://127.0.0.1:8000/news/1", "http://127.0.0.2:8000/"):
        assert refusal(other, None, trusted_url=feed, allow=NOTHING) is not None, other
    # a link on the source's origin but with another scheme is still not fetched
    assert refusal("file://127.0.0.1:8000/etc/passwd", None, trusted_url=feed, allow=NOTHING) is not None


def test_allow_networks_lists_networks_and_host_names() -> None:
    allow = parse_allow_networks(["127.0.0.1/32", "10.0.0.0/8", "fd00::/8", "intranet.example", "*.corp.example"])
    assert refusal("http://127.0.0.1:9/", None, trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://[::ffff:127.0.0.1]:9/", None, trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://10.2.3.4/", None, trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://[fd12::1]/", None, trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://intranet.example/a", ip_address("192.168.0.9"), trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://wiki.corp.example/a", ip_address("192.168.0.9"), trusted_url=SOURCE, allow=allow) is None
    assert refusal("http://127.0.0.2/", None, trusted_url=SOURCE, allow=allow) is not None
    assert refusal("http://169.254.169.254/", None, trusted_url=SOURCE, allow=allow) is not None
    assert refusal("http://evil.example/a", ip_address("192.168.0.9"), trusted_url=SOURCE, allow=allow) is not None
    # the allow list never opens other schemes
    assert refusal("file://intranet.example/etc/passwd", None, trusted_url=SOURCE, allow=allow) is not None


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "300.1.1.1", "not a host", "", "http://10.0.0.1/", "fd00::/200"])
def test_a_bad_allow_networks_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match=r"crawl\.allow_networks entry") as info:
        CrawlOptions(allow_networks=(entry,))
    assert repr(entry) in str(info.value)


def test_allow_networks_accepts_a_list_and_rejects_a_bare_string() -> None:
    options = CrawlOptions(allow_networks=["10.0.0.0/8", "intranet.example"])  # type: ignore[arg-type]
    assert options.allow_networks == ("10.0.0.0/8", "intranet.example")
    with pytest.raises(ValueError, match="list of CIDRs"):
        CrawlOptions(allow_networks="10.0.0.0/8")  # type: ignore[arg-type]


def test_config_yaml_allow_networks_list_reaches_the_options(tmp_path: Path) -> None:
    from scheduler.config import ConfigError, load_config

    path = tmp_path / "config.yaml"
    base = (f"database: {tmp_path / 'n.db'}\nsources:\n"
            "  - {name: a, kind: feed, url: 'http://127.0.0.1:1/feed.xml'}\n")
    path.write_text(base + "crawl:\n  allow_networks: ['10.0.0.0/8', intranet.example]\n")
    assert load_config(path, environ={}).crawl.allow_networks == ("10.0.0.0/8", "intranet.example")
    path.write_text(base + "crawl:\n  allow_networks: ['10.0.0.0/33']\n")
    with pytest.raises(ConfigError, match=r"10\.0\.0\.0/33"):
        load_config(path, environ={})


def _judge(url: str, allow: AllowList = NOTHING, trusted: str = SOURCE) -> BaseException | None:
    request = Request(url, meta={"source": "bugle", TRUSTED_META: trusted})
    try:
        asyncio.run(NetPolicyMiddleware(allow).process_request(request))
    except BaseException as exc:
        return exc
    return None


def test_the_middleware_refuses_metadata_and_private_literals_before_any_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # IP-literal hosts are judged without a lookup or a connection: nothing leaves this process
    for url in ("http://169.254.169.254/latest/meta-data/iam", "http://10.0.0.1/admin", "http://[::ffff:10.0.0.1]/"):
        assert isinstance(_judge(url), RefusedURL), url
    line = next(r for r in caplog.records if "169.254.169.254" in r.getMessage())
    assert line.levelname == "WARNING"
    assert "source bugle" in line.getMessage() and "host 169.254.169.254" in line.getMessage()
    assert "link-local" in line.getMessage()
    assert _judge("http://10.0.0.1/admin", parse_allow_networks(["10.0.0.0/8"])) is None
    assert _judge("http://10.0.0.1/admin", trusted="http://10.0.0.1/feed.xml") is None
    assert isinstance(_judge("file:///etc/hostname"), RefusedURL)


def test_a_response_from_a_non_public_peer_is_dropped() -> None:
    # second line of defence (DNS rebinding): the connection's actual peer address is judged too
    from scrapy.http import HtmlResponse

    middleware = NetPolicyMiddleware(NOTHING)
    request = Request("http://cdn.news.example/a", meta={"source": "bugle", TRUSTED_META: SOURCE})
    rebound = HtmlResponse(request.url, body=b"<p>x</p>", request=request, ip_address=ipaddress.ip_address("10.0.0.7"))
    with pytest.raises(RefusedURL, match="peer"):
        middleware.process_response(request, rebound)
    public = HtmlResponse(request.url, body=b"<p>x</p>", request=request,
                          ip_address=ipaddress.ip_address("93.184.216.34"))
    assert middleware.process_response(request, public) is public

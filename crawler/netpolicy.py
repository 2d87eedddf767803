"""Which URLs found in content the crawler may fetch: schemes, addresses, origins, the allow list.

A feed, sitemap or listing page is written by someone else, so every URL it names (entry links,
child sitemaps, redirects) is untrusted. Only `http` and `https` are ever fetched from content
(`file:`, `ftp:`, `data:`, `javascript:`, `mailto:`, `tag:` and `urn:` links are skipped), and a
content URL may reach a non-public address (loopback, private, link-local, multicast, unspecified,
reserved; IPv4 and IPv6, including IPv4 embedded in IPv6) only when it has the same origin (scheme,
host, port) as the source's configured URL — the user chose that origin — or when
`crawl.allow_networks` lists its host name or a network holding its address.

These are pure functions; `crawler.middlewares.NetPolicyMiddleware` applies them to requests after
resolving host names. Settings read: none (the allow list arrives as `CrawlOptions.allow_networks`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(\*\.)?(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Origin = tuple[str, str, int]


def url_scheme(url: str) -> str:
    """The URL's scheme in lower case ("" when it has none)."""
    head, sep, _ = url.strip().partition(":")
    return head.lower() if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", head) else ""


def is_fetchable_scheme(url: str) -> bool:
    """Whether a URL found in content may be fetched at all (http and https only)."""
    return url_scheme(url) in ALLOWED_SCHEMES


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL with default ports filled in; None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs have the same scheme, host and port (both must be http(s))."""
    mine = origin(url)
    return mine is not None and mine == origin(other)


def host_literal(host: str) -> IPAddress | None:
    """The address when a URL's host is an IP literal (brackets and IPv6 zone ids allowed), else None."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why an address is not a public unicast internet address ("loopback", ...), or None when it is.

    IPv4 addresses carried inside IPv6 (IPv4-mapped `::ffff:a.b.c.d`, 6to4, Teredo, NAT64
    `64:ff9b::/96`) are judged by the IPv4 address they carry.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            reason = non_public_reason(inner)
            return f"{reason} (carried in IPv6)" if reason else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return name
    return None


@dataclass(frozen=True, slots=True)
class AllowList:
    """The networks and host names of `crawl.allow_networks` (host names match exactly, `*.x` subdomains)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()

    def allows_host(self, host: str) -> bool:
        """Whether a URL host name is listed (exactly, or under a listed `*.domain`)."""
        name = host.rstrip(".").lower()
        for entry in self.hosts:
            if entry.startswith("*."):
                if name.endswith(entry[1:]):
                    return True
            elif name == entry:
                return True
        return False

    def allows_address(self, address: IPAddress) -> bool:
        """Whether an address lies in a listed network (IPv4-mapped IPv6 also matches IPv4 networks)."""
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a in net for a in candidates for net in self.networks if a.version == net.version)


def parse_allow_networks(entries: Iterable[str]) -> AllowList:
    """Parse `crawl.allow_networks`: CIDRs (`10.0.0.0/8`, `fd00::/8`), addresses, or host names.

    Raises:
        ValueError: an entry is neither a network nor a host name (the message names it).
    """
    networks: list[IPNetwork] = []
    hosts: list[str] = []
    for raw in entries:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(
                f"crawl.allow_networks entry {raw!r} is not a CIDR or host name; "
                "write e.g. 10.0.0.0/8, 192.168.1.20 or intranet.example"
            )
        entry = raw.strip().lower()
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry or re.fullmatch(r"[0-9./]+", entry) or not _HOST_NAME.match(entry):
            raise ValueError(
                f"crawl.allow_networks entry {raw!r} is a bad CIDR or host name; "
                "write e.g. 10.0.0.0/8, fd00::/8, 192.168.1.20 or intranet.example"
            )
        hosts.append(entry.rstrip("."))
    return AllowList(tuple(networks), tuple(hosts))


def refusal(url: str, address: IPAddress | None, *, trusted_url: str, allow: AllowList) -> str | None:
    """Why a URL found in content must not be fetched, or None when it may be.

    Args:
        url: the URL to fetch (an entry link, child sitemap or redirect target).
        address: the address its host resolved to (None when not resolved: only the scheme and the
            host-name rules are applied then, and an IP-literal host is checked as written).
        trusted_url: the source's configured URL; its origin is trusted.
        allow: the parsed `crawl.allow_networks`.

    Returns:
        A short reason naming the scheme or the address class, or None.
    """
    scheme = url_scheme(url)
    if scheme not in ALLOWED_SCHEMES:
        return f"scheme {scheme or '(none)'}: is not http(s)"
    if same_origin(url, trusted_url):
        return None
    host = urlsplit(url.strip()).hostname or ""
    if allow.allows_host(host):
        return None
    target = address if address is not None else host_literal(host)
    if target is None or allow.allows_address(target):
        return None
    reason = non_public_reason(target)
    if reason is None:
        return None
    return (f"{reason} address {target} is not the source's origin and not in crawl.allow_networks "
            "(add it there to allow it)")

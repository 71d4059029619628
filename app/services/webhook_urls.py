"""Where webhook channels may send: http(s) URLs only, and optionally no private addresses."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def check_url(url: str) -> str | None:
    """What is wrong with a webhook URL (to follow the setting's name), or None."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "is not a valid URL; give one such as https://hooks.example.com/motorpool"
    # The URL itself is not repeated: Slack and Teams URLs carry their credential in the path.
    if parts.scheme not in ("http", "https"):
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        return f"must be an http:// or https:// URL, not {scheme}"
    if not parts.hostname:
        return "must name a host, as in https://hooks.example.com/motorpool"
    return None


def refused_address(address: str) -> bool:
    """Loopback, private (RFC 1918, unique local), link-local, unspecified, multicast or reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast
            or ip.is_reserved)


def private_address_of(url: str) -> str | None:
    """The first address ``url``'s host resolves to that is refused, or None when all are public.

    Raises ``OSError`` when the name does not resolve (a retryable condition: DNS may be down).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for *_rest, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if refused_address(str(sockaddr[0])):
            return str(sockaddr[0])
    return None

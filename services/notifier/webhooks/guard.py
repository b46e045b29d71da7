"""Where a webhook may be sent: the address rules, applied at send time to the addresses DNS gives.

`Guard.resolve(host, port)` resolves once and returns the first address that may be reached (or raises
Refused); the caller then connects to that very address, so a name that resolves to a public address
when checked and to 127.0.0.1 a moment later (DNS rebinding) cannot slip through. With
`allow_private` (WEBHOOK_ALLOW_PRIVATE=true: development and tests) every address may be reached.
"""
import ipaddress
import socket

# Not ranges a webhook receiver lives in: loopback, private (RFC 1918, ULA), link-local (which holds the
# cloud metadata address 169.254.169.254), carrier-grade NAT, unspecified, multicast, reserved, and the
# IPv4 forms hidden inside IPv6 addresses (checked through their IPv4 address).
FORBIDDEN_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b:1::/48",
))


class Refused(Exception):
    """The destination may not be reached (a forbidden address, or no address at all)."""


def forbidden_reason(ip):
    """Why this address may not receive a webhook, or None."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return forbidden_reason(str(embedded))
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_private or address.is_reserved or any(address in net for net in FORBIDDEN_NETWORKS
                                                        if net.version == address.version):
        return "a private or reserved address"
    return None


def system_resolver(host, port):
    """Every address `host` resolves to, through the system's resolver (green under eventlet)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class Guard:
    def __init__(self, allow_private=False, resolver=system_resolver):
        self.allow_private, self.resolver = allow_private, resolver

    def resolve(self, host, port):
        """The address to connect to for host:port; Refused if none may be reached."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(self.resolver(host, port))
            except (OSError, UnicodeError) as exc:
                raise Refused(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise Refused(f"{host} resolves to no address")
        if self.allow_private:
            return addresses[0]
        reasons = []
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is None:
                return address
            reasons.append(f"{address} is {reason}")
        raise Refused(f"refused: {host} resolves only to forbidden addresses ({'; '.join(reasons)})")


def static_problem(host, allow_private):
    """An endpoint URL whose host is a forbidden IP literal (or localhost) is refused when saved, not only when sent."""
    if allow_private:
        return None
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "localhost cannot receive webhooks."
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    reason = forbidden_reason(str(address))
    return f"{address} is {reason}: it cannot receive webhooks." if reason else None

"""One webhook POST over HTTP(S), with the guard's address rules: no transaction, no broker.

The host is resolved once by the guard and the connection opened to the address it approved (TLS still
checks the certificate against the host name). Connect and read timeouts, an overall deadline, a capped
response body; a redirect is followed (at most MAX_REDIRECTS) only to a URL that passes the same rules,
and only with the same POST (303 excepted: it is not followed, a receiver has no reason to send one).
"""
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from shared.contracts.webhook_schemas import url_problem

from .guard import Refused

MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 307, 308)


@dataclass(frozen=True)
class Result:
    """What an attempt came to: `ok` for a 2xx; otherwise the status and/or the error."""

    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None = None
    excerpt: str | None = None


def plain_connect(address, port, timeout):
    """A TCP connection to an address already checked (tests map addresses to their receiver here)."""
    return socket.create_connection((address, port), timeout=timeout)


class _Connection(http.client.HTTPConnection):
    def __init__(self, host, port, address, connect, connect_timeout, read_timeout, tls_context=None):
        super().__init__(host, port, timeout=read_timeout)
        self._address, self._connect, self._connect_timeout, self._tls = address, connect, connect_timeout, tls_context

    def connect(self):
        sock = self._connect(self._address, self.port, self._connect_timeout)
        sock.settimeout(self.timeout)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


class Transport:
    """`post(url, body, headers)` -> Result. Settings: connect_timeout, read_timeout, total_timeout,
    response_cap (bytes of the body kept), excerpt_chars; `connect` opens the TCP connection."""

    def __init__(self, guard, connect_timeout=3.0, read_timeout=10.0, total_timeout=15.0, response_cap=4096,
                 excerpt_chars=500, connect=plain_connect, tls_context=None, user_agent="Deskline-Webhooks/1"):
        self.guard, self.connect = guard, connect
        self.connect_timeout, self.read_timeout, self.total_timeout = connect_timeout, read_timeout, total_timeout
        self.response_cap, self.excerpt_chars, self.user_agent = response_cap, excerpt_chars, user_agent
        self.tls_context = tls_context or ssl.create_default_context()

    def post(self, url, body, headers):
        started = time.monotonic()
        deadline = started + self.total_timeout
        try:
            redirected = None  # (status, excerpt) of the answer that sent us to `url`
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    status, location, excerpt = self._post_once(url, body, headers, deadline)
                except Refused as exc:
                    if redirected is None:
                        raise
                    return self._result(started, False, redirected[0], f"redirect to {url} {exc}", redirected[1])
                if status in REDIRECTS and location:
                    target = urljoin(url, location)
                    problem = url_problem(target)
                    if problem:
                        return self._result(started, False, status, f"redirect to {target} refused: {problem}", excerpt)
                    url, redirected = target, (status, excerpt)
                    continue
                ok = 200 <= status < 300
                error = None if ok else (f"HTTP {status}" if status not in REDIRECTS and status != 303
                                         else f"HTTP {status}: redirect not followed")
                return self._result(started, ok, status, error, excerpt)
            return self._result(started, False, status, f"more than {MAX_REDIRECTS} redirects", excerpt)
        except Refused as exc:
            return self._result(started, False, None, str(exc))
        except (socket.timeout, TimeoutError):
            return self._result(started, False, None, "timed out")
        except ssl.SSLError as exc:
            return self._result(started, False, None, f"TLS error: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            return self._result(started, False, None, f"connection failed: {exc!r}")

    def _post_once(self, url, body, headers, deadline):
        parts = urlsplit(url)
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        address = self.guard.resolve(parts.hostname, port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        connection = _Connection(parts.hostname, port, address, self.connect, min(self.connect_timeout, remaining),
                                 min(self.read_timeout, remaining), self.tls_context if https else None)
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": self.user_agent, **headers})
            response = connection.getresponse()
            kept = self._read_capped(response, deadline)
            return response.status, response.getheader("Location"), kept.decode("utf-8", "replace")[:self.excerpt_chars]
        finally:
            connection.close()

    def _read_capped(self, response, deadline):
        chunks, size = [], 0
        while size < self.response_cap:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read1(min(4096, self.response_cap - size)) if hasattr(response, "read1") else \
                response.read(min(4096, self.response_cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _result(started, ok, status, error, excerpt=None):
        return Result(ok, status, int((time.monotonic() - started) * 1000), error, excerpt or None)

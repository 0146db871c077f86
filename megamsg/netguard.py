"""Outbound HTTP that refuses non-public addresses (SSRF guard), for media downloads and webhooks.

Addresses fall into three groups:

* public (``is_global``): always allowed;
* private: loopback, RFC 1918, unique-local IPv6, shared 100.64.0.0/10 and the other non-global
  ranges: allowed only with ``allow_private`` (ALLOW_PRIVATE_URLS, for a webhook receiver or media
  server on the same machine or LAN);
* never: unspecified (0.0.0.0, ::), link-local (169.254.169.254 is the cloud metadata service),
  multicast and reserved. No media or webhook server legitimately lives there, so even
  ``allow_private`` refuses them.

An IPv6 address that embeds an IPv4 one (::ffff:a.b.c.d, NAT64, 6to4) is judged by the IPv4 one.

DNS rebinding: checking a name and then letting the HTTP library resolve it again lets a hostile DNS
server answer a public address to the check and 127.0.0.1 to the connection. So the check lives in
the connection itself: urllib3's ``_new_conn`` is replaced by one that resolves the host once,
refuses unless every address is allowed, and then connects to those very addresses. urllib3 still
knows the host by name, so the Host header, TLS SNI and certificate checks are unchanged. No connection
is opened before the check passes. Proxies are never used (``trust_env`` is off), because
through a proxy the guard could not see where the request really goes.

Redirects are followed here, one hop at a time, and every hop opens its connections through the same
guard. The "never" group is what lets a test check that honestly without a test-only switch: with
``allow_private`` the test server on 127.0.0.1 is reachable, and its redirect to 169.254.169.254
must still be refused.
"""

import contextlib
import contextvars
import ipaddress
import logging
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

log = logging.getLogger(__name__)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_BODY_ARGUMENTS = ("data", "json", "files")


class _Deadline:
    """The sockets opened under one deadline(), shut down together when it expires."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = threading.Event()
        self.lock = threading.Lock()

    def add(self, sock: socket.socket) -> None:
        """Track a new socket (shut at once if time has already run out)."""
        with self.lock:
            self.sockets.append(sock)
            if self.expired.is_set():
                self._shut(sock)

    def cut(self) -> None:
        """Time is up: make every blocked call on these sockets fail now."""
        with self.lock:
            self.expired.set()
            for sock in self.sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_current_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "netguard_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[threading.Event]:
    """Bound a whole exchange (connects, redirects, reads); the event is set if time ran out."""
    # requests' timeout bounds each connect and each read only: a server trickling bytes could
    # hold a call for ever. Shutting the sockets down makes the blocked call fail at once.
    # (DNS lookups stay bounded by the system resolver only.)
    current = _Deadline()
    token = _current_deadline.set(current)
    timer = threading.Timer(seconds, current.cut)
    timer.daemon = True
    timer.start()
    try:
        yield current.expired
    finally:
        timer.cancel()
        _current_deadline.reset(token)


def _register(sock: socket.socket) -> socket.socket:
    """Note a new socket for the enclosing deadline(), if any."""
    current = _current_deadline.get()
    if current is not None:
        current.add(sock)
    return sock


class BlockedURL(Exception):
    """The URL may not be fetched: bad scheme, or it resolves to a non-public address (message says why)."""


class UnresolvableHost(BlockedURL):
    """The URL's host name does not resolve (now)."""


def check_url(url: str, allow_private: bool) -> None:
    """Raise BlockedURL unless url is http(s) and every address its host resolves to is allowed."""
    host, port = _host_and_port(url)
    try:
        addresses = _resolve(host, port)
    except socket.gaierror:
        raise UnresolvableHost("its host name could not be resolved") from None
    _check_addresses(addresses, allow_private)


def request(
    method: str, url: str, *, allow_private: bool, timeout: float, max_redirects: int = 0, **kwargs: Any
) -> requests.Response:
    """requests.request with the guard applied to the URL and to every redirect hop."""
    if "proxies" in kwargs:
        raise TypeError("netguard.request never uses a proxy")
    with requests.Session() as session:
        # No proxies or .netrc credentials from the environment (see the module docstring).
        session.trust_env = False
        adapter = _GuardedAdapter(allow_private)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        for hop in range(max_redirects + 1):
            if hop:
                log.debug("following redirect %d/%d to %s", hop, max_redirects, redact(url))
            _host_and_port(url)  # the address check happens as each connection opens
            response = session.request(
                method, url, timeout=(timeout, timeout), allow_redirects=False, **kwargs
            )
            location = response.headers.get("Location")
            # max_redirects=0 means "do not follow": the caller gets the 3xx answer itself.
            if response.status_code not in _REDIRECT_STATUSES or not location or max_redirects == 0:
                return response
            response.close()
            next_url = urljoin(url, location)
            method, kwargs = _next_hop(response.status_code, method, kwargs, url, next_url)
            url = next_url
    raise requests.TooManyRedirects(f"more than {max_redirects} redirects", response=response)


def redact(url: str) -> str:
    """Scheme, host and port only, for logs: paths and queries of webhook URLs often carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        pass
    return f"{parts.scheme}://{netloc}" + ("/…" if parts.path not in ("", "/") or parts.query else "/")


def _host_and_port(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL; BlockedURL for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BlockedURL("the URL is malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedURL("only http and https URLs are allowed")
    if not parts.hostname:
        raise BlockedURL("the URL has no host name")
    try:
        parts.hostname.encode("idna")  # what the resolver will need
    except UnicodeError:
        raise BlockedURL("the URL's host name is not valid") from None
    return parts.hostname, port or (443 if scheme == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    """Every address host resolves to, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _check_addresses(addresses: list[str], allow_private: bool) -> None:
    """Raise BlockedURL if any of the addresses may not be contacted."""
    for address in addresses:
        reason = _refusal(address, allow_private)
        if reason:
            raise BlockedURL(f"it resolves to {reason}")


def _refusal(address: str, allow_private: bool) -> str | None:
    """Why the address may not be contacted ("a private address (10.0.0.1)"), or None."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        ip = ip.ipv4_mapped or ip.sixtofour or nat64 or ip
    kind: str | None
    if ip.is_unspecified:
        kind = "an unspecified"
    elif ip.is_loopback:
        # Before the reserved test: Python counts ::1 as part of the reserved ::/8.
        kind = None if allow_private else "a private"
    elif ip.is_link_local:
        kind = "a link-local"
    elif ip.is_multicast:
        kind = "a multicast"
    elif ip.is_reserved:
        kind = "a reserved"
    elif ip.is_global and not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        # Deprecated IPv6 site-local (fec0::/10) still means "this site": Python calls it global.
        kind = None
    else:
        kind = None if allow_private else "a private"
    return f"{kind} address ({ip})" if kind else None


def _next_hop(
    status: int, method: str, kwargs: dict[str, Any], url: str, next_url: str
) -> tuple[str, dict[str, Any]]:
    """Method and arguments for the redirect target, as browsers and requests do it."""
    kwargs = dict(kwargs)
    if (status == 303 and method.upper() != "HEAD") or (status in (301, 302) and method.upper() == "POST"):
        method = "GET"
        for name in _BODY_ARGUMENTS:
            kwargs.pop(name, None)
    old, new = urlsplit(url), urlsplit(next_url)
    if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
        # Credentials meant for one server must not be handed to the one it redirects to.
        kwargs.pop("auth", None)
        headers = kwargs.get("headers") or {}
        kwargs["headers"] = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
    return method, kwargs


if TYPE_CHECKING:
    # For the type checker the mixin is the connection it is mixed into (it uses its attributes).
    _ConnectionBase = HTTPConnection
else:
    _ConnectionBase = object


class _GuardedConnectionMixin(_ConnectionBase):
    """Replaces urllib3's connect step: resolve once, check every address, connect to a checked one."""

    allow_private = False

    def _new_conn(self) -> socket.socket:
        """Open the socket, refusing (BlockedURL) before any packet is sent if an address is not allowed."""
        try:
            addresses = _resolve(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        _check_addresses(addresses, self.allow_private)
        error: OSError | None = None
        for address in addresses:
            try:
                return _register(
                    urllib3_connection.create_connection(
                        (address, self.port),
                        self.timeout,
                        source_address=self.source_address,
                        socket_options=self.socket_options,
                    )
                )
            except OSError as exc:
                error = exc
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


def _pool_classes(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes, by scheme, whose connections go through the guard."""
    guard = {"allow_private": allow_private}
    http = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), guard)
    https = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), guard)
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


_POOL_CLASSES = {flag: _pool_classes(flag) for flag in (False, True)}


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections all go through the guard."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private  # set first: HTTPAdapter.__init__ builds the pool manager
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager with the guarded pool classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES[self._allow_private]

"""SSRF guard: address rules, refusal before connecting, redirects re-checked hop by hop.

Only loopback ever receives traffic: every other address in these tests must be refused before a
connection is attempted, which is exactly what the guard promises.
"""

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from megamsg.netguard import BlockedURL, check_url, redact, request

RELEASE = threading.Event()  # holds /slow until the server shuts down


class Handler(BaseHTTPRequestHandler):
    """/ok, /echo, /redirect?to=URL&status=N, /hops/N (N redirects before 200), /slow."""

    def do_GET(self) -> None:
        """Route a GET."""
        self.route()

    def do_POST(self) -> None:
        """Route a POST."""
        self.route()

    def route(self) -> None:
        """Answer according to the path."""
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/ok":
            self.answer(200, b"ok")
        elif url.path == "/echo":
            seen = {
                "method": self.command,
                "body": body.decode(),
                "auth": self.headers.get("Authorization"),
                "host": self.headers.get("Host"),
            }
            self.answer(200, json.dumps(seen).encode())
        elif url.path == "/redirect":
            self.answer(int(query.get("status", 302)), b"", {"Location": query["to"]})
        elif url.path.startswith("/hops/"):
            left = int(url.path.rsplit("/", 1)[1])
            if left:
                self.answer(302, b"", {"Location": f"/hops/{left - 1}"})
            else:
                self.answer(200, b"arrived")
        elif url.path == "/slow":
            RELEASE.wait(10)
            self.answer(200, b"late")
        else:
            self.answer(404, b"no such page")

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a complete response."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@contextmanager
def serve(httpd: ThreadingHTTPServer) -> Iterator[int]:
    """Run httpd in a thread; yield its port; stop it afterwards."""
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1."""
    RELEASE.clear()
    with serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as port:
        yield f"http://127.0.0.1:{port}"
        RELEASE.set()  # let a still-waiting /slow finish before shutdown


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """A real HTTPS server on 127.0.0.1 with a self-signed certificate for "localhost".

    Yields its port, the certificate to trust, and the TLS server names (SNI) clients sent.
    """
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    with serve(httpd) as port:
        yield port, cert, names


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "it resolves to a private address (127.0.0.1)"),
        ("http://localhost/", "it resolves to a private address ("),  # 127.0.0.1 or ::1
        ("http://10.0.0.1/", "it resolves to a private address (10.0.0.1)"),
        ("http://169.254.169.254/latest/meta-data", "it resolves to a link-local address (169.254.169.254)"),
        ("http://[::1]/", "it resolves to a private address (::1)"),
        ("http://0.0.0.0/", "it resolves to an unspecified address (0.0.0.0)"),
        ("http://100.64.0.1/", "it resolves to a private address (100.64.0.1)"),
        ("http://[::ffff:127.0.0.1]/", "it resolves to a private address (127.0.0.1)"),
        ("http://[::ffff:10.0.0.1]:8080/", "it resolves to a private address (10.0.0.1)"),
        ("https://192.168.1.1/", "it resolves to a private address (192.168.1.1)"),
        ("http://[fc00::1]/", "it resolves to a private address (fc00::1)"),
        ("http://[fec0::1]/", "it resolves to a private address (fec0::1)"),
        ("http://[ff02::1]/", "it resolves to a multicast address (ff02::1)"),
        ("http://[fe80::1]/", "it resolves to a link-local address (fe80::1)"),
        ("http://2130706433/", "it resolves to a private address (127.0.0.1)"),
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("ftp://example.com/x", "only http and https URLs are allowed"),
        ("gopher://example.com/x", "only http and https URLs are allowed"),
        ("http:///no-host", "the URL has no host name"),
    ],
)
def test_refused_addresses_and_schemes(url: str, reason: str) -> None:
    with pytest.raises(BlockedURL) as checked:
        check_url(url, allow_private=False)
    assert str(checked.value).startswith(reason)
    with pytest.raises(BlockedURL) as requested:
        request("GET", url, allow_private=False, timeout=1)
    assert str(requested.value).startswith(reason)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_refused_before_any_connection(host: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with pytest.raises(BlockedURL):
            request("GET", f"http://{host}:{port}/", allow_private=False, timeout=1)
        listener.setblocking(False)
        # A completed TCP handshake would be waiting in the accept queue.
        with pytest.raises(BlockingIOError):
            listener.accept()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/", "a link-local address (169.254.169.254)"),
        ("http://[::ffff:169.254.169.254]/", "a link-local address (169.254.169.254)"),
        ("http://[fe80::1]/", "a link-local address (fe80::1)"),
        ("http://0.0.0.0:8000/", "an unspecified address (0.0.0.0)"),
        ("http://[::]/", "an unspecified address (::)"),
        ("http://224.0.0.1/", "a multicast address (224.0.0.1)"),
        ("http://[ff02::1]/", "a multicast address (ff02::1)"),
        ("http://240.0.0.1/", "a reserved address (240.0.0.1)"),
        ("http://255.255.255.255/", "a reserved address (255.255.255.255)"),
    ],
)
def test_never_allowed_even_with_private_urls_on(url: str, reason: str) -> None:
    with pytest.raises(BlockedURL) as error:
        check_url(url, allow_private=True)
    assert str(error.value) == f"it resolves to {reason}"


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://93.184.216.34/", False),
        ("https://[2606:4700:4700::1111]/dns-query", False),
        ("http://[::ffff:93.184.216.34]/", False),
        ("HTTPS://93.184.216.34:8443/x?y=1", False),
        ("http://127.0.0.1/", True),
        ("http://localhost:5000/hook", True),
        ("http://10.0.0.1/", True),
        ("http://100.64.0.1/", True),
        ("http://[::1]/", True),
    ],
)
def test_allowed_addresses(url: str, allow_private: bool) -> None:
    check_url(url, allow_private=allow_private)  # resolving literals and localhost sends nothing


def test_private_server_reachable_when_allowed(server: str) -> None:
    response = request("GET", f"{server}/ok", allow_private=True, timeout=5)
    assert (response.status_code, response.text) == (200, "ok")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data", "it resolves to a link-local address (169.254.169.254)"),
        ("http://[::ffff:169.254.169.254]/", "it resolves to a link-local address (169.254.169.254)"),
        ("http://0.0.0.0:{port}/ok", "it resolves to an unspecified address (0.0.0.0)"),
        ("http://224.0.0.1/", "it resolves to a multicast address (224.0.0.1)"),
        ("file:///etc/passwd", "only http and https URLs are allowed"),
    ],
)
def test_every_redirect_hop_is_checked(server: str, target: str, reason: str) -> None:
    # With private URLs allowed the first hop (127.0.0.1) is fine; the hop it redirects to is not.
    port = urlsplit(server).port
    url = f"{server}/redirect?to={target.format(port=port)}"
    with pytest.raises(BlockedURL) as error:
        request("GET", url, allow_private=True, timeout=5, max_redirects=3)
    assert str(error.value) == reason


@pytest.mark.parametrize(
    ("hops", "max_redirects", "status", "text"),
    [
        (0, 0, 200, "arrived"),
        (3, 3, 200, "arrived"),
        (1, 0, 302, ""),  # 0 means "do not follow": the redirect itself comes back
    ],
)
def test_redirects_followed_up_to_the_limit(
    server: str, hops: int, max_redirects: int, status: int, text: str
) -> None:
    response = request(
        "GET", f"{server}/hops/{hops}", allow_private=True, timeout=5, max_redirects=max_redirects
    )
    assert (response.status_code, response.text) == (status, text)


def test_too_many_redirects(server: str) -> None:
    with pytest.raises(requests.TooManyRedirects, match="more than 3 redirects"):
        request("GET", f"{server}/hops/4", allow_private=True, timeout=5, max_redirects=3)


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [
        (301, "GET", ""),
        (302, "GET", ""),
        (303, "GET", ""),
        (307, "POST", "payload"),
        (308, "POST", "payload"),
    ],
)
def test_redirect_method_and_body(server: str, status: int, method: str, body: str) -> None:
    url = f"{server}/redirect?status={status}&to=/echo"
    response = request("POST", url, allow_private=True, timeout=5, max_redirects=1, data="payload")
    seen = response.json()
    assert (seen["method"], seen["body"]) == (method, body)


@pytest.mark.parametrize(("host", "auth"), [("127.0.0.1", "Bearer secret"), ("localhost", None)])
def test_authorization_kept_only_on_the_same_host(server: str, host: str, auth: str | None) -> None:
    port = urlsplit(server).port
    url = f"{server}/redirect?to=http://{host}:{port}/echo"
    headers = {"Authorization": "Bearer secret"}
    response = request("GET", url, allow_private=True, timeout=5, max_redirects=1, headers=headers)
    assert response.json()["auth"] == auth


def test_https_keeps_host_name_for_sni_and_certificate(tls_server: tuple[int, Path, list[str]]) -> None:
    # The socket goes to the address the guard checked; TLS and HTTP still see the host name.
    port, cert, names = tls_server
    response = request(
        "GET", f"https://localhost:{port}/echo", allow_private=True, timeout=5, verify=str(cert)
    )
    assert response.json()["host"] == f"localhost:{port}"
    assert names == ["localhost"]


def test_read_timeout(server: str) -> None:
    with pytest.raises(requests.Timeout):
        request("GET", f"{server}/slow", allow_private=True, timeout=0.3)


def test_proxies_are_refused() -> None:
    with pytest.raises(TypeError):
        request("GET", "http://93.184.216.34/", allow_private=False, timeout=1, proxies={})


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://hooks.example.com/services/T0/B0/s3cr3t?token=s3cr3t", "https://hooks.example.com/…"),
        ("http://user:s3cr3t@example.com:8080/", "http://example.com:8080/"),
        ("https://example.com", "https://example.com/"),
        ("http://[::1]:9000/x#frag", "http://[::1]:9000/…"),
    ],
)
def test_redact_keeps_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_the_guard_is_urllib3s_connect_step(server: str) -> None:
    # The guard replaces urllib3's private HTTPConnection._new_conn (urllib3 is pinned for that).
    # If an upgrade renamed it or stopped calling it, connections would bypass the guard: this
    # server answers 200 to anyone who reaches it, so only the guard can turn that into a refusal.
    import urllib3.connection

    assert "_new_conn" in vars(urllib3.connection.HTTPConnection)
    assert request("GET", f"{server}/ok", allow_private=True, timeout=5).status_code == 200
    with pytest.raises(BlockedURL) as refused:
        request("GET", f"{server}/ok", allow_private=False, timeout=5)
    assert str(refused.value).endswith("a private address (127.0.0.1)")

"""load_media: base64 and data: URLs, downloads from a real local server, size caps, type sniffing."""

import base64
import hashlib
import io
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from megamsg.config import DEFAULTS
from megamsg.media import Media, MediaError, load_media

RELEASE = threading.Event()  # holds /slow and /stall until the server shuts down
STREAM_BYTES = 10_000  # what /stream/* sends, well over the 1000-byte cap those tests set
DOCUMENT = bytes(range(256)) * 4 + b"x"  # base64 of it has + and /, and needs padding

# ffmpeg arguments for each generated sample: tiny, silent-ish, made at test time.
FFMPEG_SAMPLES = {
    "voice.ogg": ["-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "libopus"],
    "song.mp3": ["-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "libmp3lame"],
    "song.m4a": ["-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac"],
    "audio-only.mp4": ["-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac", "-f", "mp4"],
    "clip.mp4": [
        *("-f", "lavfi", "-i", "testsrc=size=32x32:rate=10:duration=0.3"),
        *("-f", "lavfi", "-i", "sine=duration=0.3", "-c:v", "mpeg4", "-c:a", "aac", "-shortest"),
    ],
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real media files by name: Pillow images, ffmpeg audio and video, text, a document."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    folder: Path = tmp_path_factory.mktemp("media")
    files = {"notes.txt": b"just some text, not a picture\n", "report.bin": DOCUMENT}
    for name, fmt in (("pixel.png", "PNG"), ("photo.jpg", "JPEG")):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(buffer, fmt)
        files[name] = buffer.getvalue()
    files["broken.png"] = files["pixel.png"][:40]
    for name, args in FFMPEG_SAMPLES.items():
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(folder / name)], check=True)
        files[name] = (folder / name).read_bytes()
    return files


class Handler(BaseHTTPRequestHandler):
    """/files/NAME, /redirect?to=URL, /hops/N, /slow, /stall, /trickle, /trickle-headers, /huge-length, /stream/…"""

    protocol_version = "HTTP/1.1"
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:
        """Answer according to the path."""
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.close_connection = True
        try:
            if url.path.startswith("/files/") and url.path[7:] in self.files:
                self.head(200, {"Content-Length": str(len(self.files[url.path[7:]]))})
                self.wfile.write(self.files[url.path[7:]])
            elif url.path == "/redirect":
                self.head(302, {"Location": query["to"], "Content-Length": "0"})
            elif url.path.startswith("/hops/"):
                self.head(302, {"Location": f"/hops/{int(url.path[6:]) + 1}", "Content-Length": "0"})
            elif url.path == "/slow":
                RELEASE.wait(10)
            elif url.path == "/stall":
                self.head(200, {"Content-Length": "1000"})
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                RELEASE.wait(10)
            elif url.path == "/trickle":
                # A byte every 50 ms: never trips the per-read timeout, must trip the total one.
                self.head(200, {"Content-Length": "1000"})
                for _ in range(1000):
                    if RELEASE.wait(0.05):
                        break
                    self.wfile.write(b"x")
                    self.wfile.flush()
            elif url.path == "/trickle-headers":
                # Headers that never end, a line every 50 ms: only a deadline on the whole exchange helps.
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for n in range(1000):
                    if RELEASE.wait(0.05):
                        break
                    self.wfile.write(b"X-Wait-%d: 1\r\n" % n)
                    self.wfile.flush()
            elif url.path == "/huge-length":
                # Claims 1 GB, sends a little: a client that trusts the header stops at once.
                self.head(200, {"Content-Length": str(1 << 30)})
                self.wfile.write(b"x" * 100)
            elif url.path == "/stream/close":
                self.head(200, {})  # no length: the body ends when the connection closes
                self.wfile.write(b"x" * STREAM_BYTES)
            elif url.path == "/stream/chunked":
                self.head(200, {"Transfer-Encoding": "chunked"})
                for _ in range(10):
                    self.wfile.write(b"%x\r\n%s\r\n" % (STREAM_BYTES // 10, b"x" * (STREAM_BYTES // 10)))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.head(404, {"Content-Length": "0"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up reading, as it should for oversized bodies

    def head(self, status: int, headers: dict[str, str]) -> None:
        """Send the status line and headers."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture(scope="module")
def server(samples: dict[str, bytes]) -> Iterator[str]:
    """Base URL of a real HTTP server on 127.0.0.1 serving the samples."""
    RELEASE.clear()
    Handler.files = samples
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


def config(**overrides: object) -> dict:
    """The default configuration, private URLs allowed (the test server is on loopback)."""
    return {**DEFAULTS, "ALLOW_PRIVATE_URLS": True, "MEDIA_TIMEOUT": 2.0, **overrides}


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode()


def assert_media(media: Media, data: bytes, mime_type: str, file_name: str | None = None) -> None:
    """media holds exactly data, with the expected type and name."""
    assert media.data == data
    assert media.size == len(data)
    assert media.sha256 == hashlib.sha256(data).hexdigest()
    assert (media.mime_type, media.file_name) == (mime_type, file_name)


@pytest.mark.parametrize(
    ("value", "kind", "expected", "mime_type"),
    [
        (b64(DOCUMENT), "document", DOCUMENT, "application/octet-stream"),
        ("\n".join(b64(DOCUMENT)[i : i + 76] for i in range(0, 1400, 76)), "document", DOCUMENT, None),
        (base64.urlsafe_b64encode(DOCUMENT).decode(), "document", DOCUMENT, None),
        (b64(DOCUMENT).rstrip("="), "document", DOCUMENT, None),
        (f"  data:application/pdf;base64,{b64(DOCUMENT)}\n", "document", DOCUMENT, "application/pdf"),
        ("data:text/plain;charset=utf-8,hello%20world", "document", b"hello world", "text/plain"),
        ("data:;base64,aGk", "document", b"hi", "application/octet-stream"),
    ],
)
def test_base64_and_data_urls(value: str, kind: str, expected: bytes, mime_type: str | None) -> None:
    assert_media(load_media(value, kind, config()), expected, mime_type or "application/octet-stream")


@pytest.mark.parametrize(
    ("name", "declared", "kind", "mime_type"),
    [
        ("pixel.png", None, "image", "image/png"),
        ("photo.jpg", "image/png", "image", "image/jpeg"),  # the bytes win over the declaration
        ("voice.ogg", "audio/ogg", "audio", "audio/ogg"),
        ("clip.mp4", "video/mp4", "video", "video/mp4"),
    ],
)
def test_media_kinds_from_base64(
    samples: dict[str, bytes], name: str, declared: str | None, kind: str, mime_type: str
) -> None:
    value = f"data:{declared};base64,{b64(samples[name])}" if declared else b64(samples[name])
    assert_media(load_media(value, kind, config()), samples[name], mime_type)


@pytest.mark.parametrize(
    "value",
    ["not base64!", "QUJD=RA==", "QUJDR", "QU+_", "QUJD===", "QUJDé", "data:image/png;base64,%%%"],
)
def test_invalid_base64(value: str) -> None:
    with pytest.raises(MediaError, match="^media is not valid base64$"):
        load_media(value, "document", config())


@pytest.mark.parametrize("value", ["", "  \n ", "data:image/png;base64,", "data:,"])
def test_empty_media(value: str) -> None:
    with pytest.raises(MediaError, match="^media is empty$"):
        load_media(value, "image", config())


@pytest.mark.parametrize(
    "value", ["file:///etc/passwd", "ftp://example.com/x.png", "gopher://example.com/", "javascript:alert(1)"]
)
def test_other_schemes_refused(value: str) -> None:
    with pytest.raises(MediaError, match=r"^media must be an http\(s\) URL or base64 data$"):
        load_media(value, "image", config())


@pytest.mark.parametrize(
    ("value", "kind", "overrides", "message"),
    [
        (b64(DOCUMENT), "image", {"MAX_MEDIA_BYTES": 100}, "media is larger than 100 bytes"),
        (b64(DOCUMENT), "document", {"MAX_DOCUMENT_BYTES": 1024}, "media is larger than 1 KB"),
        (
            f"data:x/y;base64,{b64(DOCUMENT)}",
            "document",
            {"MAX_DOCUMENT_BYTES": 1024},
            "media is larger than 1 KB",
        ),
        ("data:,%41%41%41%41%41", "document", {"MAX_DOCUMENT_BYTES": 4}, "media is larger than 4 bytes"),
        ("A" * (22 * 1024 * 1024), "video", {}, "media is larger than 16 MB"),
    ],
)
def test_too_large(value: str, kind: str, overrides: dict, message: str) -> None:
    with pytest.raises(MediaError) as error:
        load_media(value, kind, config(**overrides))
    assert str(error.value) == message


def test_document_cap_is_separate_from_media_cap() -> None:
    media = load_media(b64(DOCUMENT), "document", config(MAX_MEDIA_BYTES=100))
    assert media.size == len(DOCUMENT)


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("notes.txt", "image", "media is not a valid image (detected: text)"),
        ("report.bin", "image", "media is not a valid image (detected: unknown data)"),
        ("song.mp3", "image", "media is not a valid image (detected: audio/mpeg)"),
        ("broken.png", "image", "media is not a valid image (detected: image/png, but unreadable)"),
        ("pixel.png", "audio", "media is not valid audio (detected: image/png)"),
        ("clip.mp4", "audio", "media is not valid audio (detected: video/mp4)"),
        ("song.m4a", "video", "media is not a valid video (detected: audio/mp4)"),
        ("audio-only.mp4", "video", "media is not a valid video (detected: audio/mp4)"),
        ("voice.ogg", "video", "media is not a valid video (detected: audio/ogg)"),
    ],
)
def test_wrong_kind(samples: dict[str, bytes], name: str, kind: str, message: str) -> None:
    with pytest.raises(MediaError) as error:
        load_media(b64(samples[name]), kind, config())
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("name", "kind", "mime_type"),
    [
        ("pixel.png", "image", "image/png"),
        ("photo.jpg", "image", "image/jpeg"),
        ("voice.ogg", "audio", "audio/ogg"),
        ("song.mp3", "audio", "audio/mpeg"),
        ("song.m4a", "audio", "audio/mp4"),
        ("audio-only.mp4", "audio", "audio/mp4"),
        ("clip.mp4", "video", "video/mp4"),
        ("report.bin", "document", "application/octet-stream"),
        ("notes.txt", "document", "application/octet-stream"),
    ],
)
def test_download_each_kind(
    server: str, samples: dict[str, bytes], name: str, kind: str, mime_type: str
) -> None:
    media = load_media(f"{server}/files/{name}", kind, config())
    assert_media(media, samples[name], mime_type, file_name=name)


def test_download_follows_redirects(server: str, samples: dict[str, bytes]) -> None:
    media = load_media(f"{server}/redirect?to=/files/pixel.png", "image", config())
    assert_media(media, samples["pixel.png"], "image/png", file_name="redirect")


@pytest.mark.parametrize(
    ("path", "overrides", "reason"),
    [
        ("/files/nothing-here.png", {}, "the server answered 404"),
        ("/slow", {"MEDIA_TIMEOUT": 0.3}, "the server did not answer within 0.3 s"),
        ("/stall", {"MEDIA_TIMEOUT": 0.3}, "the server did not answer within 0.3 s"),
        ("/trickle", {"MEDIA_TIMEOUT": 1.0, "MEDIA_DOWNLOAD_SECONDS": 0.5}, "it took longer than 0.5 s"),
        (
            "/trickle-headers",
            {"MEDIA_TIMEOUT": 1.0, "MEDIA_DOWNLOAD_SECONDS": 0.5},
            "it took longer than 0.5 s",
        ),
        (
            "/redirect?to=/trickle",
            {"MEDIA_TIMEOUT": 1.0, "MEDIA_DOWNLOAD_SECONDS": 0.5},
            "it took longer than 0.5 s",
        ),
        ("/huge-length", {}, "it is larger than 16 MB"),
        ("/stream/close", {"MAX_MEDIA_BYTES": 1000}, "it is larger than 1000 bytes"),
        ("/stream/chunked", {"MAX_MEDIA_BYTES": 1000}, "it is larger than 1000 bytes"),
        ("/hops/0", {}, "it redirects too many times"),
        ("/files/pixel.png", {"ALLOW_PRIVATE_URLS": False}, "it resolves to a private address (127.0.0.1)"),
        (
            "/redirect?to=http://169.254.169.254/latest/meta-data",
            {},
            "it resolves to a link-local address (169.254.169.254)",
        ),
    ],
)
def test_download_failures(server: str, path: str, overrides: dict, reason: str) -> None:
    with pytest.raises(MediaError) as error:
        load_media(f"{server}{path}", "image", config(**overrides))
    assert str(error.value) == f"media could not be downloaded: {reason}"


def test_download_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free again once closed: nothing listens there
    with pytest.raises(MediaError) as error:
        load_media(f"http://127.0.0.1:{port}/x.png", "image", config())
    assert str(error.value) == "media could not be downloaded: the server refused the connection"

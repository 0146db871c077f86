"""Real, tiny media files made on the fly (Pillow, ffmpeg) for the send tests."""

import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image


def png_bytes() -> bytes:
    image = Image.new("RGB", (8, 8), (7, 94, 84))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def ffmpeg_bytes(directory: Path, name: str, args: list[str]) -> bytes:
    """Run ffmpeg to make a small file; ffmpeg is a system dependency (make system-deps)."""
    if not shutil.which("ffmpeg"):
        raise RuntimeError("ffmpeg is required for the media tests (make system-deps)")
    target = directory / name
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args, str(target)], check=True, timeout=60)
    return target.read_bytes()


def make_samples(directory: Path) -> dict[str, bytes]:
    """One sample per media type."""
    return {
        "image": png_bytes(),
        "audio": ffmpeg_bytes(
            directory,
            "voice.ogg",
            ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.4", "-c:a", "libopus"],
        ),
        "video": ffmpeg_bytes(
            directory,
            "clip.mp4",
            [
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=0.4:size=64x64:rate=10",
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
            ],
        ),
        "document": b"%PDF-1.4\n% MegaMsg test document\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
    }

"""Check that the neonize shared library loads, in a child interpreter (never in ours)."""

import subprocess
import sys

# neonize.client is what runners import: it also needs libmagic (python-magic) and Pillow.
_PROBE = "import neonize._binder as b, neonize.client; print(getattr(b, 'gocode', None) is not None)"


def probe_neonize(timeout: float = 60.0) -> tuple[bool, str]:
    """(ok, detail) after importing neonize in a fresh interpreter."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, f"importing neonize took longer than {timeout:.0f}s"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"library does not load: {last}"
    return True, "shared library loads"

"""The data directory is private to the user MegaMsg runs as: 0700 directories, 0600 files."""

# It holds the Redis data (credentials' sessions, parked media, one-time secrets), the WhatsApp
# session stores (whoever reads one can act as the linked phone), the database and media. Earlier
# versions left Redis files 0644 and data/sessions 0755: each process tightens what is there at
# start, and from then on creates files under umask 077 (children such as the session runners,
# whose neonize writes the session stores, inherit it).

import logging
import os
import stat

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def make_private(data_dir: str) -> int:
    """Set this process's umask to 077 and tighten data_dir; return how many entries were changed."""
    os.umask(PRIVATE_UMASK)
    return tighten(data_dir)


def tighten(data_dir: str) -> int:
    """Remove group and other permissions from data_dir and everything under it (symlinks left alone)."""
    changed = 0
    if not os.path.isdir(data_dir):
        return 0
    for root, _dirs, files in os.walk(data_dir):  # a directory is tightened as the root of its own step
        for path in (root, *(os.path.join(root, name) for name in files)):
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & 0o077:
                    continue
                os.chmod(path, stat.S_IMODE(mode) & ~0o077)
                changed += 1
            except FileNotFoundError:
                continue  # removed meanwhile (a WAL file, a socket)
    if changed:
        log.warning("Data directory %s: removed group/other permissions from %d entries", data_dir, changed)
    return changed

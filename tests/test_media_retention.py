"""Incoming media retention."""

import os
import time

import pytest

from megamsg.delivery.media_retention import purge_expired_media


@pytest.mark.parametrize("days,age_days,kept", [(30, 31, False), (30, 29, True), (0, 999, True)])
def test_purge_expired_media(tmp_path, days, age_days, kept):
    path = tmp_path / "media" / "inst_x" / "3EB0ABC"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"data")
    old = time.time() - age_days * 86400
    os.utime(path, (old, old))
    removed = purge_expired_media({"DATA_DIR": str(tmp_path), "INCOMING_MEDIA_RETENTION_DAYS": days})
    assert path.exists() is kept
    assert removed == (0 if kept else 1)

"""Stored media downloads: a file name from another WhatsApp user never breaks the Content-Disposition header."""

import pytest

from megamsg.delivery.events import media_path
from megamsg.store import message_log
from tests.conftest import auth_headers, login

NAMES = [
    # (file name as received, the name the download is offered under)
    ("report.pdf", "report.pdf"),
    ("a.pdf\r\nSet-Cookie: x=1", "a.pdfSet-Cookie: x=1"),
    ("line\nbreak.pdf", "linebreak.pdf"),
    ("tab\there\x00.pdf", "tabhere.pdf"),
    ("../../etc/passwd", "....etcpasswd"),
    ("..\\boot.ini", "..boot.ini"),
    ("\r\n", None),  # nothing left: the message id
    ("..", None),
    (None, None),
]


@pytest.fixture
def stored(app, db, make_instance):
    """Make an incoming document with the given file name and its stored bytes; return (instance, token, row)."""
    instance, token = make_instance()
    count = iter(range(1000))

    def make(file_name: str | None) -> dict:
        row, _ = message_log.record_incoming(
            db,
            instance["id"],
            {
                "wa_id": f"IN{next(count)}",
                "peer": "+201000000012",
                "type": "document",
                "text": "",
                "mime_type": "application/pdf",
                "file_name": file_name,
                "wa_timestamp": 1_790_000_000,
            },
        )
        path = media_path(app.config, instance["id"], row["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.4 drill")
        message_log.set_media_path(db, row["id"], str(path))
        return row

    return instance, token, make


@pytest.mark.parametrize(("received", "offered"), NAMES)
def test_the_api_and_the_dashboard_offer_a_clean_file_name(client, stored, received, offered):
    instance, token, make = stored
    row = make(received)
    login(client, "owner@example.com")
    for answer in (
        client.get(f"/api/whatsapp/media/{row['id']}", headers=auth_headers(instance["id"], token)),
        client.get(f"/instances/{instance['id']}/messages/{row['id']}/media"),
    ):
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.data == b"%PDF-1.4 drill"
        disposition = answer.headers["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert disposition.startswith("attachment; filename=")
        name = disposition.removeprefix("attachment; filename=").strip('"')
        assert name == (offered or row["id"])

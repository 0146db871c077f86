"""Destructive dashboard actions ask first and say what happened afterwards (issue 10, bug 7)."""

import re

import pytest

from tests.conftest import auth_headers, csrf_from, login


@pytest.fixture
def owned(client, make_instance):
    """An instance whose owner is logged in: (row, token)."""
    instance, token = make_instance(owner_email="owner@example.com")
    login(client, "owner@example.com")
    return instance, token


def posting_forms(html: str) -> list[str]:
    """The action of every POST form on a page."""
    return re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', html)


def test_instance_page_has_no_one_click_rotate_or_whatsapp_logout(client, owned):
    instance, _ = owned
    html = client.get(f"/instances/{instance['id']}").get_data(as_text=True)
    actions = posting_forms(html)
    assert f"/instances/{instance['id']}/rotate" not in actions
    assert f"/instances/{instance['id']}/logout" not in actions
    assert f'href="/instances/{instance["id"]}/rotate"' in html  # a link to the confirmation
    assert f'href="/instances/{instance["id"]}/logout"' in html


@pytest.mark.parametrize(
    "action,asks",
    [
        ("rotate", "The current token stops working at once"),
        ("logout", "unlinks the WhatsApp session"),
    ],
)
def test_confirmation_page_explains_and_posts_to_itself(client, owned, action, asks):
    instance, _ = owned
    confirm = client.get(f"/instances/{instance['id']}/{action}")
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert asks in html
    assert 'name="confirmed" value="yes"' in html
    assert f'href="/instances/{instance["id"]}"' in html  # Cancel


def test_rotate_without_confirmation_only_asks(client, owned, db):
    instance, token = owned
    csrf = csrf_from(client.get(f"/instances/{instance['id']}").get_data(as_text=True))
    answer = client.post(f"/instances/{instance['id']}/rotate", data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/instances/{instance['id']}/rotate"
    assert db["instances"].get(instance["id"])["token_hash"] == instance["token_hash"]
    assert (
        client.get("/api/whatsapp/instance", headers=auth_headers(instance["id"], token)).status_code == 200
    )


def test_confirmed_rotation_says_what_happened(client, owned):
    instance, old = owned
    csrf = csrf_from(client.get(f"/instances/{instance['id']}/rotate").get_data(as_text=True))
    answer = client.post(
        f"/instances/{instance['id']}/rotate",
        data={"csrf_token": csrf, "confirmed": "yes"},
        follow_redirects=True,
    )
    assert "Token rotated: the previous token no longer works." in answer.get_data(as_text=True)
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance["id"], old)).status_code == 401


def test_whatsapp_logout_without_confirmation_only_asks(client, owned):
    instance, _ = owned
    csrf = csrf_from(client.get(f"/instances/{instance['id']}").get_data(as_text=True))
    answer = client.post(f"/instances/{instance['id']}/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/instances/{instance['id']}/logout"


def test_whatsapp_logout_without_a_runner_says_why_on_the_page(client, owned):
    instance, _ = owned
    csrf = csrf_from(client.get(f"/instances/{instance['id']}/logout").get_data(as_text=True))
    answer = client.post(f"/instances/{instance['id']}/logout", data={"csrf_token": csrf, "confirmed": "yes"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/instances/{instance['id']}"
    page = client.get(f"/instances/{instance['id']}").get_data(as_text=True)
    assert "Could not log out of WhatsApp: WhatsApp session is not running yet" in page


def test_confirmations_are_404_for_someone_elses_instance(client, make_instance, make_user):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    make_user("owner@example.com")
    login(client, "owner@example.com")
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    for action in ("rotate", "logout"):
        assert client.get(f"/instances/{theirs['id']}/{action}").status_code == 404
        answer = client.post(
            f"/instances/{theirs['id']}/{action}", data={"csrf_token": csrf, "confirmed": "yes"}
        )
        assert answer.status_code == 404

"""Dashboard pages for an instance's webhook: settings, secret, test event, deliveries, redelivery."""

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from megamsg.delivery import webhooks as webhook_delivery
from megamsg.delivery.webhook_config import (
    EVENT_KINDS,
    WebhookConfigError,
    check_destination,
    rotate_secret,
    selected_events,
    set_webhook,
)
from megamsg.store import webhook_events
from megamsg.web.dashboard import webhook_recovery, webhooks_live
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db

bp = Blueprint("webhooks_ui", __name__)
bp.register_blueprint(webhooks_live.bp)
bp.register_blueprint(webhook_recovery.bp)

PAGE_SIZE = 20
# Session key naming the instance whose secret the next settings page shows (then forgotten):
# the secret itself never goes into the session cookie or a URL.
REVEAL = "webhook_reveal"


def _event_or_404(instance: dict, event_id: str) -> dict:
    event = webhook_events.get_event(get_db(), event_id, instance_id=instance["id"])
    if event is None:
        abort(404)
    return event


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _show_skipped() -> bool:
    return request.args.get("skipped") == "1"


def _render_settings(
    instance: dict, reveal: bool = False, status: int = 200, form_url: str | None = None
) -> ResponseReturnValue:
    page = _page_number()
    show_skipped = _show_skipped()
    db = get_db()
    rows = webhook_events.list_events(
        db, instance["id"], PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, include_skipped=show_skipped
    )
    return (
        render_template(
            "webhooks.html",
            instance=instance,
            url=instance["webhook_url"] if form_url is None else form_url,
            kinds=EVENT_KINDS,
            chosen=selected_events(instance),
            reveal=reveal,
            events=rows[:PAGE_SIZE],
            page=page,
            has_older=len(rows) > PAGE_SIZE,
            show_skipped=show_skipped,
            skipped_count=webhook_events.count_skipped(db, instance["id"]),
            in_progress=webhook_events.IN_PROGRESS,
        ),
        status,
        # A page that shows the secret must not be kept by a browser or proxy cache.
        {"Cache-Control": "no-store"} if reveal else {},
    )


def _back_to_settings(instance_id: str, reveal: bool = False) -> ResponseReturnValue:
    """Post/redirect/get: reloading the result repeats nothing and never asks to resend a form."""
    if reveal:
        session[REVEAL] = instance_id
    return redirect(url_for("webhooks_ui.settings", instance_id=instance_id))


@bp.get("/instances/<instance_id>/webhooks")
@login_required
def settings(instance_id: str) -> ResponseReturnValue:
    """Webhook settings and the latest deliveries (with the secret once, right after a reveal)."""
    instance = own_instance_or_404(instance_id)
    return _render_settings(instance, reveal=session.pop(REVEAL, None) == instance_id)


@bp.post("/instances/<instance_id>/webhooks")
@login_required
def save_settings(instance_id: str) -> ResponseReturnValue:
    """Save the URL (empty clears it) and the event kinds."""
    instance = own_instance_or_404(instance_id)
    url = request.form.get("url", "").strip()
    try:
        warning = check_destination(url or None, bool(current_app.config["ALLOW_PRIVATE_URLS"]))
        set_webhook(get_db(), instance_id, url or None, request.form.getlist("events"))
    except WebhookConfigError as exc:
        flash(str(exc), "error")
        return _render_settings(instance, status=422, form_url=url)
    flash("Webhook settings saved." if url else "Webhook URL cleared: no events will be sent.", "ok")
    if warning:
        flash(warning, "error")
    return redirect(url_for("webhooks_ui.settings", instance_id=instance_id))


@bp.post("/instances/<instance_id>/webhooks/reveal")
@login_required
def reveal_secret(instance_id: str) -> ResponseReturnValue:
    """Show the signing secret on the settings page (kept out of the page until asked for)."""
    own_instance_or_404(instance_id)
    return _back_to_settings(instance_id, reveal=True)


@bp.post("/instances/<instance_id>/webhooks/rotate")
@login_required
def rotate(instance_id: str) -> ResponseReturnValue:
    """Issue a new signing secret; the old one stops being used at once."""
    own_instance_or_404(instance_id)
    rotate_secret(get_db(), instance_id)
    flash("New signing secret issued. Update your receiver: deliveries are now signed with it.", "ok")
    return _back_to_settings(instance_id, reveal=True)


@bp.get("/instances/<instance_id>/webhooks/reveal")
@bp.get("/instances/<instance_id>/webhooks/rotate")
@login_required
def settings_again(instance_id: str) -> ResponseReturnValue:
    """An old address of a reveal or rotation (history, bookmark): the settings page, nothing done."""
    own_instance_or_404(instance_id)
    return _back_to_settings(instance_id)


@bp.post("/instances/<instance_id>/webhooks/test")
@login_required
def send_test(instance_id: str) -> ResponseReturnValue:
    """Send a test event to the webhook URL."""
    instance = own_instance_or_404(instance_id)
    event_id = webhook_delivery.send_test_event(get_db(), current_app.config, instance)
    if instance["webhook_url"]:
        flash("Test event queued.", "ok")
    else:
        flash("Set a webhook URL first: the test event was recorded but not sent.", "error")
    return redirect(url_for("webhooks_ui.event_detail", instance_id=instance_id, event_id=event_id))


@bp.get("/instances/<instance_id>/webhooks/<event_id>")
@login_required
def event_detail(instance_id: str, event_id: str) -> ResponseReturnValue:
    """One event: its payload and every delivery attempt."""
    instance = own_instance_or_404(instance_id)
    event = _event_or_404(instance, event_id)
    return render_template(
        "webhooks_event.html",
        instance=instance,
        event=event,
        payload=json.dumps(json.loads(event["payload"]), indent=2, ensure_ascii=False),
        attempts=webhook_events.list_attempts(get_db(), event_id),
        in_progress=webhook_events.IN_PROGRESS,
    )


@bp.post("/instances/<instance_id>/webhooks/<event_id>/redeliver")
@login_required
def redeliver(instance_id: str, event_id: str) -> ResponseReturnValue:
    """Start a fresh round of up to 3 attempts."""
    instance = own_instance_or_404(instance_id)
    _event_or_404(instance, event_id)
    try:
        webhook_delivery.redeliver(get_db(), current_app.config, event_id)
    except webhook_delivery.RedeliveryRefused as exc:
        flash(str(exc), "error")
    else:
        flash("Redelivery queued: up to 3 new attempts.", "ok")
    return redirect(url_for("webhooks_ui.event_detail", instance_id=instance_id, event_id=event_id))

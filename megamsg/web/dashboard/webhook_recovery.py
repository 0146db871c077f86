"""Dashboard: redeliver an instance's failed webhook events of a recent period, in order (asked first)."""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from megamsg.clock import iso_ago, now_iso
from megamsg.delivery import webhooks as webhook_delivery
from megamsg.store import webhook_events
from megamsg.web.dashboard import confirm
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db

bp = Blueprint("webhook_recovery", __name__, url_prefix="/instances/<instance_id>/webhooks")

# The periods offered, in hours, with their words; anything else is the first.
PERIODS = {1: "hour", 24: "24 hours", 168: "7 days", 720: "30 days"}
BATCH = 500  # the API's limit per call


def _hours() -> int:
    raw = request.values.get("hours", "")
    return int(raw) if raw.isdigit() and int(raw) in PERIODS else next(iter(PERIODS))


@bp.route("/redeliver-failed", methods=["GET", "POST"])
@login_required
def redeliver_failed(instance_id: str) -> ResponseReturnValue:
    """Ask, then start a fresh round of up to 3 attempts for each failed event of the period, oldest first."""
    instance = own_instance_or_404(instance_id)
    hours = _hours()
    back = url_for("webhooks_ui.settings", instance_id=instance_id)
    since, until = iso_ago(hours * 3600), now_iso()
    if request.method == "GET":
        failed = webhook_events.count_in_range(get_db(), instance_id, "failed", since, until)
        return confirm.ask(
            f"Redeliver {failed} failed event{'' if failed == 1 else 's'}?",
            f"Every event that failed in the last {PERIODS[hours]} ({failed}, at most {BATCH} at once) is "
            "sent again to the webhook URL, oldest first, with the same webhook-id, body and sequence: "
            "up to 3 new attempts each.",
            "Redeliver them",
            back,
        )
    if not confirm.confirmed():
        return confirm.ask_first(
            "webhooks_ui.webhook_recovery.redeliver_failed", instance_id=instance_id, hours=hours
        )
    try:
        event_ids, remaining = webhook_delivery.redeliver_range(
            get_db(), current_app.config, instance, "failed", since, until, BATCH
        )
    except webhook_delivery.RedeliveryRefused as exc:
        flash(str(exc), "error")
        return redirect(back, 303)
    more = f" {remaining} more failed in that period: redeliver again to send them." if remaining else ""
    flash(
        f"Redelivery queued for {len(event_ids)} failed event{'' if len(event_ids) == 1 else 's'}.{more}",
        "ok",
    )
    return redirect(back, 303)

"""POST /api/whatsapp/contacts/check: which numbers are on WhatsApp; GET /api/whatsapp/groups."""

from typing import Any

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.phone import PhoneError, normalise_phone
from megamsg.web.api.auth import require_instance
from megamsg.web.api.feature_schemas import CHECK_NUMBERS
from megamsg.web.api.features import run_feature
from megamsg.web.api.rate_limit import check_rate
from megamsg.web.validation import json_object

bp = Blueprint("contacts", __name__, url_prefix="/whatsapp")


def _entry(raw: str) -> dict[str, Any]:
    """A number as given, normalised, or its problem."""
    try:
        number = normalise_phone(raw)
    except PhoneError as exc:
        return {
            "input": raw,
            "valid": False,
            "phone_number": None,
            "on_whatsapp": None,
            "wa_id": None,
            "error": f"phone_number {exc}",
        }
    return {"input": raw, "valid": True, "phone_number": number, "on_whatsapp": None, "wa_id": None}


@bp.post("/contacts/check")
@require_instance
def check_numbers() -> ResponseReturnValue:
    """For each number: normalised, on WhatsApp or not, and its WhatsApp id."""
    check_rate(current_app.config, g.instance["id"])
    entries = [_entry(raw) for raw in CHECK_NUMBERS.check(json_object())["phone_numbers"]]
    numbers = list(dict.fromkeys(entry["phone_number"] for entry in entries if entry["valid"]))
    if numbers:
        answer = run_feature("check_numbers", {"phone_numbers": numbers})
        found = {result["phone_number"]: result for result in answer["results"]}
        for entry in entries:
            result = found.get(entry["phone_number"])
            if result is not None:
                entry.update(on_whatsapp=bool(result["on_whatsapp"]), wa_id=result.get("wa_id"))
    return jsonify({"ok": True, "results": entries})


@bp.get("/groups")
@require_instance
def list_groups() -> ResponseReturnValue:
    """The groups the linked number is in: id, subject, participant count."""
    return jsonify({"ok": True, "groups": run_feature("groups", {})["groups"]})

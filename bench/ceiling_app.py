"""The ceiling for the send endpoint: a bare Flask JSON endpoint doing only what any endpoint must
(parse JSON, check two headers, answer JSON), served by the same gunicorn settings as the project."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/api/whatsapp/messages/send")
def send() -> tuple[dict, int]:
    """Echo what a send answers, without sending anything."""
    body = request.get_json()
    if not request.headers.get("Authorization") or not request.headers.get("X-Instance-Id"):
        return {"ok": False, "message": "Unauthorized."}, 401
    return {"ok": True, "to": body["phone_number"], "type": body.get("type", "text")}, 200

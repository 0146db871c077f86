"""The /api blueprint: collects the API's route modules."""

from flask import Blueprint

from megamsg import api_instance, api_messages, api_simulator, api_webhook, openapi

bp = Blueprint("api", __name__, url_prefix="/api")
CHILDREN = [api_instance.bp, api_webhook.bp, api_messages.bp, api_simulator.bp, openapi.bp]
for child in CHILDREN:
    bp.register_blueprint(child)

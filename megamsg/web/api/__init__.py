"""The /api blueprint: collects the API's route modules."""

from flask import Blueprint

from megamsg.web.api import instance as api_instance
from megamsg.web.api import messages as api_messages
from megamsg.web.api import openapi
from megamsg.web.api import simulator as api_simulator
from megamsg.web.api import webhook as api_webhook

bp = Blueprint("api", __name__, url_prefix="/api")
CHILDREN = [api_instance.bp, api_webhook.bp, api_messages.bp, api_simulator.bp, openapi.bp]
for child in CHILDREN:
    bp.register_blueprint(child)

"""The /api blueprint: collects the API's route modules."""

from flask import Blueprint

from megamsg.web.api import (
    account,
    chat_actions,
    contacts,
    delivery_control,
    instance,
    messages,
    openapi,
    simulator,
    simulator_burst,
    simulator_features,
    webhook,
    webhook_redeliver,
)

bp = Blueprint("api", __name__, url_prefix="/api")
CHILDREN = [instance.bp, webhook.bp, messages.bp, simulator.bp, openapi.bp, account.bp, delivery_control.bp]
CHILDREN += [contacts.bp, simulator_features.bp, chat_actions.bp]
CHILDREN += [simulator_burst.bp, webhook_redeliver.bp]  # issue 11: recovery
for child in CHILDREN:
    bp.register_blueprint(child)

"""WhatsApp group ids ("120363012345678901@g.us") in request and answer schemas."""

from megamsg.web.api.schema_parts import string

GROUP_ID_PATTERN = r"^[0-9]{5,40}(-[0-9]{5,20})?@g\.us$"
GROUP_ID_PROBLEM = "must be a WhatsApp group id such as 120363012345678901@g.us."
# What an answer's "to" may be: a number in E.164 or a group id.
RECIPIENT_PATTERN = r"^(\+[1-9][0-9]{6,14}|[0-9]{5,40}(-[0-9]{5,20})?@g\.us)$"


def group_id(description: str) -> dict:
    """A WhatsApp group id ("…@g.us")."""
    return string(description, pattern=GROUP_ID_PATTERN, examples=["120363012345678901@g.us"])

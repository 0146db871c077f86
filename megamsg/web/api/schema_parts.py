"""Small builders for the JSON Schemas of the API (requests, responses and the OpenAPI document)."""

from typing import Any

COMPONENTS = "#/components/schemas/"


def ref(name: str) -> dict:
    """A reference to a component schema of the OpenAPI document."""
    return {"$ref": COMPONENTS + name}


def nullable(schema: dict) -> dict:
    """The schema, also allowing null (where the server treats null as absent)."""
    return {**schema, "type": [schema["type"], "null"]}


def string(description: str = "", **keywords: Any) -> dict:
    """A string schema."""
    schema: dict[str, Any] = {"type": "string", **keywords}
    if description:
        schema["description"] = description
    return schema


def obj(properties: dict, required: list[str] | None = None, *, strict: bool = True, **keywords: Any) -> dict:
    """An object schema; every property is required unless told, and extra ones refused when strict."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    if strict:
        schema["additionalProperties"] = False
    schema.update(keywords)
    return schema


def ok(properties: dict | None = None, required: list[str] | None = None) -> dict:
    """A success body: {"ok": true, …}."""
    properties = {"ok": {"const": True}, **(properties or {})}
    return obj(properties, None if required is None else ["ok", *required])

"""Field tables from JSON Schemas: a row per property (nested ones dotted), merged across variants."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from megamsg.web.docs.schema_walk import (
    flatten,
    forbidden,
    property_schema,
    types_of,
    values_of,
    variant_labels,
    variants,
)


@dataclass(frozen=True)
class Note:
    """A field's description, for the variants it applies to ("" when for all)."""

    applies_to: str
    text: str


@dataclass(frozen=True)
class Field:
    """One row of a fields or parameters table."""

    name: str
    type: str
    required: str
    notes: tuple[Note, ...]
    limits: tuple[str, ...]
    location: str = ""


@dataclass(frozen=True)
class _Use:
    """A property as one variant of the schema has it."""

    label: str
    required: bool
    schema: Mapping[str, Any]


def fields(
    doc: Mapping[str, Any], schema: Any, *, prefix: str = "", drop_null: bool = False, depth: int = 3
) -> list[Field]:
    """The rows for an object schema's properties, nested objects and arrays of objects included."""
    options = variants(doc, schema)
    labels = variant_labels(doc, options)
    names = list(dict.fromkeys(name for option in options for name in option.get("properties", {})))
    rows: list[Field] = []
    for name in names:
        uses = []
        for label, option in zip(labels, options, strict=True):
            prop = property_schema(doc, option, name)
            if prop is not None and not forbidden(prop) and isinstance(prop, Mapping):
                uses.append(_Use(label, name in option.get("required", []), prop))
        if not uses:
            continue
        rows.append(
            Field(
                prefix + name,
                type_label(doc, [use.schema for use in uses], drop_null),
                requirement(uses, len(options)),
                _notes(uses),
                limits([use.schema for use in uses]),
            )
        )
        if depth > 1:
            rows += _nested(doc, prefix + name, uses[0].schema, drop_null, depth - 1)
    return rows


def _nested(
    doc: Mapping[str, Any], name: str, schema: Mapping[str, Any], drop_null: bool, depth: int
) -> list[Field]:
    """Rows for an object's own properties (name.key) or an array's objects (name[].key)."""
    if any(option.get("properties") for option in variants(doc, schema)):
        return fields(doc, schema, prefix=name + ".", drop_null=drop_null, depth=depth)
    items = schema.get("items")
    if items is not None and any(option.get("properties") for option in variants(doc, items)):
        return fields(doc, items, prefix=name + "[].", drop_null=drop_null, depth=depth)
    return []


def requirement(uses: list[_Use], variant_count: int) -> str:
    """The requirement: required, optional, or per variant ("required for document; optional for image")."""
    required = [use.label for use in uses if use.required]
    optional = [use.label for use in uses if not use.required]
    if len(uses) == variant_count and (not required or not optional):
        return "required" if required else "optional"
    parts = []
    if required:
        parts.append("required for " + ", ".join(required))
    if optional:
        parts.append("optional for " + ", ".join(optional))
    return "; ".join(parts)


def _notes(uses: list[_Use]) -> tuple[Note, ...]:
    by_text: dict[str, list[str]] = {}
    for use in uses:
        text = str(use.schema.get("description") or "").strip()
        if text:
            by_text.setdefault(text, []).append(use.label)
    if len(by_text) == 1 and len(next(iter(by_text.values()))) == len(uses):
        return (Note("", next(iter(by_text))),)
    return tuple(Note(", ".join(labels), text) for text, labels in by_text.items())


def type_label(doc: Mapping[str, Any], schemas: list[Mapping[str, Any]], drop_null: bool = False) -> str:
    """The JSON types the schemas allow, e.g. "string or null", "array of string"."""
    found: list[str] = []
    for schema in schemas:
        options: list[Mapping[str, Any]] = [*variants(doc, schema)] or [schema]
        for option in options:
            for name in types_of(option):
                if name == "array" and option.get("items") is not None:
                    items = flatten(doc, option["items"])
                    inner = type_label(doc, [items], drop_null) if isinstance(items, Mapping) else ""
                    name = f"array of {inner}" if inner else "array"
                found.append(name)
    unique = list(dict.fromkeys(found))
    if drop_null and len(unique) > 1:
        unique = [name for name in unique if name != "null"]
    return " or ".join(unique) or "any"


def shown(value: Any) -> str:
    """A value as the tables show it: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def limits(schemas: list[Mapping[str, Any]]) -> tuple[str, ...]:
    """What the schemas restrict, in words ("at most 1024 characters", "one of: text, image")."""
    found: list[str] = []
    values = list(dict.fromkeys(shown(value) for schema in schemas for value in values_of(schema)))
    if len(values) == 1:
        found.append(f"always {values[0]}")
    elif values:
        found.append("one of: " + ", ".join(values))
    for schema in schemas:
        found += _limits_of(schema)
    return tuple(dict.fromkeys(found))


WORDS = {
    "minimum": "at least {}",
    "exclusiveMinimum": "above {}",
    "maximum": "at most {}",
    "exclusiveMaximum": "below {}",
    "maxLength": "at most {} characters",
    "maxItems": "at most {} items",
    "format": "format: {}",
}


def _limits_of(schema: Mapping[str, Any]) -> list[str]:
    found = []
    if schema.get("default") is not None:
        found.append(f"default {shown(schema['default'])}")
    if "minItems" in schema:
        found.append("not empty" if schema["minItems"] == 1 else f"at least {schema['minItems']} items")
    if "minLength" in schema:
        found.append(
            "not empty" if schema["minLength"] == 1 else f"at least {schema['minLength']} characters"
        )
    found += [template.format(schema[key]) for key, template in WORDS.items() if key in schema]
    if schema.get("uniqueItems"):
        found.append("no duplicates")
    items = schema.get("items")
    if isinstance(items, Mapping) and values_of(items):
        found.append("each one of: " + ", ".join(shown(value) for value in values_of(items)))
    if schema.get("examples"):
        found.append(f"e.g. {shown(schema['examples'][0])}")
    return found


def parameter_field(doc: Mapping[str, Any], parameter: Mapping[str, Any]) -> Field:
    """A row for an OpenAPI parameter (header, path or query)."""
    schema = flatten(doc, parameter.get("schema", {}))
    schema = schema if isinstance(schema, Mapping) else {}
    text = str(parameter.get("description") or schema.get("description") or "").strip()
    return Field(
        str(parameter["name"]),
        type_label(doc, [schema], drop_null=True),
        "required" if parameter.get("required") else "optional",
        (Note("", text),) if text else (),
        limits([schema]),
        str(parameter.get("in", "")),
    )

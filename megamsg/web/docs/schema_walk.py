"""JSON Schema walking for the guide: follow $ref, merge allOf, split oneOf/anyOf into variants.

Generic on purpose: the OpenAPI document's schemas may be one object, a oneOf of per-type variants,
or an object with conditional rules, and the guide must keep up with either without changes.
"""

from collections.abc import Mapping
from typing import Any

Schema = Mapping[str, Any]
ALTERNATIVES = ("oneOf", "anyOf")


def pointer(doc: Mapping[str, Any], ref: str) -> Any:
    """The node a local JSON pointer ("#/components/schemas/Error") names."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """The node with its $ref followed (keys beside a $ref win over the target's, as in JSON Schema 2020-12)."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"circular reference {ref!r}")
        seen.add(ref)
        extra = {key: value for key, value in node.items() if key != "$ref"}
        node = {**pointer(doc, ref), **extra}
    return node


def merge(base: Schema, extra: Schema) -> dict[str, Any]:
    """Both schemas' constraints in one: properties merged per name, required united, else extra wins."""
    merged = {**base, **extra}
    if "properties" in base or "properties" in extra:
        properties = dict(base.get("properties", {}))
        for name, schema in extra.get("properties", {}).items():
            before = properties.get(name)
            if isinstance(before, Mapping) and isinstance(schema, Mapping):
                properties[name] = {**before, **schema}
            else:
                properties[name] = schema
        merged["properties"] = properties
    if "required" in base or "required" in extra:
        merged["required"] = list(dict.fromkeys([*base.get("required", []), *extra.get("required", [])]))
    return merged


def flatten(doc: Mapping[str, Any], node: Any) -> Any:
    """The schema resolved, with its allOf parts (resolved too) merged into it."""
    schema = resolve(doc, node)
    if not isinstance(schema, Mapping) or "allOf" not in schema:
        return schema
    result: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        flat = flatten(doc, part)
        if isinstance(flat, Mapping):
            result = merge(result, flat)
    return result


def variants(doc: Mapping[str, Any], node: Any) -> list[dict[str, Any]]:
    """The alternatives the schema allows, each a plain schema (one when there is no oneOf/anyOf)."""
    schema = flatten(doc, node)
    if not isinstance(schema, Mapping):
        return []
    key = next((name for name in ALTERNATIVES if name in schema), None)
    if key is None:
        return [dict(schema)]
    base = {name: value for name, value in schema.items() if name not in ALTERNATIVES}
    return [merge(base, variant) for alternative in schema[key] for variant in variants(doc, alternative)]


def forbidden(schema: Any) -> bool:
    """Whether a property schema allows nothing but absence (false, "not": {}, or null only)."""
    if schema is False:
        return True
    if not isinstance(schema, Mapping):
        return False
    return schema.get("not") == {} or schema.get("type") == "null" or schema.get("const", ...) is None


def types_of(schema: Schema) -> list[str]:
    """The JSON types a schema allows, in a stable order ("null" last)."""
    found: list[str] = []
    declared = schema.get("type")
    if isinstance(declared, str):
        found.append(declared)
    elif isinstance(declared, list):
        found.extend(declared)
    values = [schema["const"]] if "const" in schema else list(schema.get("enum", []))
    found.extend(json_type(value) for value in values)
    if not found and "properties" in schema:
        found.append("object")
    if not found and "items" in schema:
        found.append("array")
    unique = list(dict.fromkeys(found))
    return [name for name in unique if name != "null"] + (["null"] if "null" in unique else [])


def json_type(value: Any) -> str:
    """The JSON type name of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def values_of(schema: Schema) -> list[Any]:
    """The fixed values a schema allows (const or enum), without null."""
    values = [schema["const"]] if "const" in schema else list(schema.get("enum", []))
    return [value for value in values if value is not None]


def variant_labels(doc: Mapping[str, Any], variants_: list[dict[str, Any]]) -> list[str]:
    """A name per variant from the property that tells them apart ("text", "image" …), else its title."""
    if len(variants_) < 2:
        return [""] * len(variants_)
    discriminator = variants_[0].get("discriminator", {}).get("propertyName")
    names = [discriminator] if discriminator else []
    names += [name for name in variants_[0].get("properties", {}) if name != discriminator]
    for name in names:
        values = [_fixed_values(property_schema(doc, variant, name)) for variant in variants_]
        flat = [str(value) for group in values for value in group]
        if all(values) and len(flat) == len(set(flat)):
            return [", ".join(str(value) for value in group) for group in values]
    return [str(variant.get("title") or f"variant {n + 1}") for n, variant in enumerate(variants_)]


def _fixed_values(schema: Any) -> list[Any]:
    return values_of(schema) if isinstance(schema, Mapping) else []


def property_schema(doc: Mapping[str, Any], schema: Schema, name: str) -> Any:
    """A property's schema, flattened; None when the schema does not list it."""
    if name not in schema.get("properties", {}):
        return None
    return flatten(doc, schema["properties"][name])

"""Request parsing and checking shared by the API endpoints: JSON Schema in, a 422 naming the field out."""

import json
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from flask import request
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from werkzeug.datastructures import Headers

from megamsg.errors import ApiError

# A format check raises ValueError saying what is wrong, without the field name ("is not a valid …").
FormatCheck = Callable[[Any], object]

TYPE_WORDS = {
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
    "array": "a list",
    "object": "an object",
}
# When one field breaks several rules, the first of these names the problem.
KEYWORD_ORDER = (
    "required",
    "type",
    "const",
    "enum",
    "minLength",
    "pattern",
    "maxLength",
    "format",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
)
RANGE_WORDS = {
    "exclusiveMinimum": "above",
    "minimum": "at least",
    "exclusiveMaximum": "below",
    "maximum": "at most",
}


def json_object() -> dict:
    """The request body as a JSON object, or a 400/422 error."""
    raw = request.get_data(cache=True)  # raises 413 past the body limit
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "Malformed JSON body.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.")
    try:
        # Valid JSON may still carry unpaired surrogates ("\ud83d"), which no database can store.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "The JSON body contains invalid Unicode (an unpaired surrogate escape)."
        ) from None
    return body


def _allows_null(schema: object) -> bool:
    if not isinstance(schema, dict) or "type" not in schema:
        return True
    kinds = schema["type"]
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds)


def _required(validator: Any, required: list[str], instance: Any, schema: dict) -> Iterator[ValidationError]:
    """JSON Schema's verdict, but the error sits on the field, and a null the property refuses reads as missing."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    for name in required:
        if name not in instance or (instance[name] is None and not _allows_null(properties.get(name))):
            yield ValidationError(f"{name} is required.", path=[name], instance=None)


def python_regex(pattern: str) -> str:
    """A JSON Schema (ECMA-262) pattern for Python's re."""
    # In ECMA-262 a final $ is the very end; Python's $ also matches before a trailing newline,
    # which would let "name\n" through a "^…$" pattern.
    return pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A schema pattern compiled once (the schemas are fixed; this is per-request work otherwise)."""
    return re.compile(python_regex(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    """JSON Schema's pattern with ECMA-262's meaning of a final $."""
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(Draft202012Validator, {"required": _required, "pattern": _pattern})


def _field_order(schema: object) -> list[str]:
    """Property names in declaration order, branches (allOf, if/then, oneOf) included."""
    if not isinstance(schema, dict):
        return []
    names = list(schema.get("properties", {}))
    branches = [schema.get("then"), schema.get("else"), *schema.get("allOf", []), *schema.get("oneOf", [])]
    for branch in branches:
        names += [name for name in _field_order(branch) if name not in names]
    return names


def _integer(text: str) -> int | str:
    """The integer a query parameter spells ("10", or "10.0" as JSON Schema counts it), else the text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text  # the schema then says "must be an integer"
    return int(number) if number.is_integer() else text


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class RequestSchema:
    """A request's JSON Schema and the checks made with it; the first problem becomes a 422 naming its field."""

    def __init__(
        self,
        schema: dict,
        *,
        formats: Mapping[str, FormatCheck],
        patterns: Mapping[str, str],
        messages: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """Compile the schema; patterns say what breaking each means, messages replace (field, keyword)'s generic one."""
        Validator.check_schema(schema)
        self.schema = schema
        self.formats = dict(formats)
        self.patterns = dict(patterns)
        self.messages = dict(messages or {})
        checker = FormatChecker(formats=())
        for name, check in self.formats.items():
            checker.checks(name, raises=ValueError)(self._format_check(check))
        self._validator = Validator(schema, format_checker=checker)
        self._fields = _field_order(schema)

    @staticmethod
    def _format_check(check: FormatCheck) -> Callable[[Any], bool]:
        def checked(value: Any) -> bool:
            if isinstance(value, str):
                check(value)
            return True

        return checked

    def check(self, body: dict) -> dict:
        """The body unchanged if it fits the schema, else ApiError(422) about its first problem."""
        errors = list(self._validator.iter_errors(body))
        if errors:
            raise ApiError(422, self.message(min(errors, key=self._rank)))
        return body

    def check_query(self, args: Mapping[str, str]) -> dict[str, Any]:
        """The schema's query parameters, typed, with defaults; an empty parameter counts as absent."""
        properties = self.schema["properties"]
        given: dict[str, Any] = {}
        for name, schema in properties.items():
            raw = args.get(name)
            if raw is None or raw == "":
                continue
            given[name] = _integer(raw) if schema.get("type") == "integer" else raw
        self.check(given)
        return {name: given.get(name, schema.get("default")) for name, schema in properties.items()}

    def check_headers(self, headers: Headers | Mapping[str, str]) -> dict[str, str]:
        """The schema's headers that the request carries, if they fit."""
        given = {name: headers[name] for name in self.schema["properties"] if headers.get(name) is not None}
        return self.check(given)

    def _rank(self, error: ValidationError) -> tuple[int, int, int, int]:
        field = error.path[0] if error.path else None
        position = self._fields.index(field) if field in self._fields else (-1 if field is None else 999)
        keyword = str(error.validator)
        order = KEYWORD_ORDER.index(keyword) if keyword in KEYWORD_ORDER else len(KEYWORD_ORDER)
        patterns = list(self.patterns)
        pattern = (
            patterns.index(error.validator_value) if error.validator_value in patterns else len(patterns)
        )
        return position, order, pattern if keyword == "pattern" else 0, len(error.schema_path)

    def message(self, error: ValidationError) -> str:
        """What is wrong, naming the field."""
        field = str(error.path[0]) if error.path else "The body"
        keyword = str(error.validator)
        value = error.instance
        if (field, keyword) in self.messages:
            return self.messages[field, keyword].format(value=value)
        schema = error.schema if isinstance(error.schema, dict) else {}
        if keyword == "required":
            schema = schema.get("properties", {}).get(field, {})
        check = self.formats.get(schema.get("format", ""))
        if check is not None and keyword in ("required", "minLength", "format"):
            try:
                check(value)
            except ValueError as exc:
                return f"{field} {exc}"
        return f"{field} {self._generic(keyword, error.validator_value, schema)}"

    def _generic(self, keyword: str, expected: Any, schema: dict) -> str:
        if keyword == "required":
            return "is required."
        if keyword == "type":
            kinds = [
                kind for kind in (expected if isinstance(expected, list) else [expected]) if kind != "null"
            ]
            if not kinds:
                return "is not allowed here."
            return f"must be {' or '.join(TYPE_WORDS[kind] for kind in kinds)}."
        if keyword == "enum":
            return f"must be one of: {', '.join(str(choice) for choice in expected if choice is not None)}."
        if keyword == "const":
            return f"must be {json.dumps(expected)}."
        if keyword == "minLength":
            return "must not be empty." if expected == 1 else f"must be at least {expected} characters."
        if keyword == "maxLength":
            return f"must be at most {expected} characters."
        if keyword == "pattern":
            return self.patterns.get(expected, f"must match the pattern {expected}.")
        if keyword in RANGE_WORDS:
            if "minimum" in schema and "maximum" in schema:
                return f"must be between {_number(schema['minimum'])} and {_number(schema['maximum'])}."
            bounds = [f"{RANGE_WORDS[key]} {_number(schema[key])}" for key in RANGE_WORDS if key in schema]
            return f"must be {TYPE_WORDS[schema.get('type', 'number')]} {' and '.join(bounds)}."
        return f"is invalid ({keyword})."

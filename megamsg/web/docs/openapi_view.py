"""The OpenAPI document as the guide shows it: operations with their parameters, bodies and answers."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from megamsg.web.docs.schema_fields import Field, Note, fields, parameter_field
from megamsg.web.docs.schema_samples import sample
from megamsg.web.docs.schema_walk import flatten, resolve, values_of

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
JSON = "application/json"
API_PREFIX = "/api/"


@dataclass(frozen=True)
class Response:
    """One documented answer of an operation."""

    status: str
    description: str
    media_type: str | None
    schema: Any
    sample: Any

    @property
    def success(self) -> bool:
        """Whether this is a 2xx answer."""
        return self.status.startswith("2")


@dataclass(frozen=True)
class Operation:
    """One method on one path."""

    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    tag: str
    authenticated: bool
    parameters: tuple[Field, ...]
    body_schema: Any
    body_description: str
    body_fields: tuple[Field, ...]
    body_sample: Any
    responses: tuple[Response, ...]
    query_sample: tuple[tuple[str, Any], ...] = ()

    @property
    def anchor(self) -> str:
        """The HTML id of the operation's section."""
        return "op-" + (self.operation_id or f"{self.method}-{self.path}").replace("/", "-").strip("-")

    @property
    def returns_json(self) -> bool:
        """Whether its success answer is JSON (else a download)."""
        return all(response.media_type in (None, JSON) for response in self.responses if response.success)

    def response(self, status: str) -> Response | None:
        """The documented answer with that status, if any."""
        return next((response for response in self.responses if response.status == status), None)


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    """Every /api/ operation in the document, in its order."""
    found = []
    for path, item in doc.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        item = resolve(doc, item)
        for method in HTTP_METHODS:
            if method in item:
                found.append(_operation(doc, method, path, item, resolve(doc, item[method])))
    return found


def find(ops: list[Operation], method: str, path: str) -> Operation:
    """The operation for a method and path (KeyError if the document has none)."""
    for operation in ops:
        if operation.method == method.lower() and operation.path == path:
            return operation
    raise KeyError(f"{method} {path} is not in the OpenAPI document")


def _operation(
    doc: Mapping[str, Any], method: str, path: str, item: Mapping[str, Any], operation: Mapping[str, Any]
) -> Operation:
    security = operation.get("security", doc.get("security", []))
    authenticated = any(requirement for requirement in security)
    raw_parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
    parameters = [parameter_field(doc, resolve(doc, parameter)) for parameter in raw_parameters]
    if authenticated:
        parameters.insert(0, authorization_field(doc, security))
    body_schema = _body_schema(doc, operation)
    return Operation(
        method=method,
        path=path,
        operation_id=str(operation.get("operationId", "")),
        summary=str(operation.get("summary", "")),
        description=str(operation.get("description", "")),
        tag=str((operation.get("tags") or [""])[0]),
        authenticated=authenticated,
        parameters=tuple(parameters),
        body_schema=body_schema,
        body_description=_body_description(doc, operation, body_schema),
        body_fields=tuple(fields(doc, body_schema, drop_null=True)) if body_schema is not None else (),
        body_sample=sample(doc, body_schema) if body_schema is not None else None,
        responses=tuple(_responses(doc, operation)),
        query_sample=tuple(_query_sample(doc, raw_parameters)),
    )


def _query_sample(doc: Mapping[str, Any], raw_parameters: list[Any]) -> list[tuple[str, Any]]:
    """Query parameters worth showing in an example: those with a default or a choice of values."""
    shown = []
    for raw in raw_parameters:
        parameter = resolve(doc, raw)
        if parameter.get("in") != "query":
            continue
        schema = flatten(doc, parameter.get("schema", {}))
        if not isinstance(schema, Mapping):
            continue
        if schema.get("default") is not None:
            shown.append((str(parameter["name"]), schema["default"]))
        elif values_of(schema):
            shown.append((str(parameter["name"]), values_of(schema)[0]))
    return shown


def authorization_field(doc: Mapping[str, Any], security: list[Mapping[str, Any]]) -> Field:
    """The Authorization header a security requirement asks for."""
    schemes = doc.get("components", {}).get("securitySchemes", {})
    names = [name for requirement in security for name in requirement]
    scheme = resolve(doc, schemes.get(names[0], {})) if names else {}
    text = str(scheme.get("description") or "").strip()
    value = "Bearer <token>" if str(scheme.get("scheme", "")).lower() == "bearer" else "<credentials>"
    return Field("Authorization", "string", "required", (Note("", text),) if text else (), (value,), "header")


def _body_schema(doc: Mapping[str, Any], operation: Mapping[str, Any]) -> Any:
    body = resolve(doc, operation.get("requestBody"))
    if not isinstance(body, Mapping):
        return None
    content = body.get("content", {})
    media = content.get(JSON) or next(iter(content.values()), None)
    return media.get("schema") if isinstance(media, Mapping) else None


def _body_description(doc: Mapping[str, Any], operation: Mapping[str, Any], schema: Any) -> str:
    body = resolve(doc, operation.get("requestBody"))
    flat = flatten(doc, schema) if schema is not None else None
    texts = [
        body.get("description") if isinstance(body, Mapping) else None,
        flat.get("description") if isinstance(flat, Mapping) else None,
    ]
    return " ".join(str(text) for text in texts if text)


def _responses(doc: Mapping[str, Any], operation: Mapping[str, Any]) -> list[Response]:
    answers = []
    for status, raw in sorted(operation.get("responses", {}).items()):
        response = resolve(doc, raw)
        content = response.get("content", {})
        media_type = JSON if JSON in content else next(iter(content), None)
        schema = content[media_type].get("schema") if media_type else None
        example = sample(doc, schema) if media_type == JSON and schema is not None else None
        answers.append(
            Response(str(status), str(response.get("description", "")), media_type, schema, example)
        )
    return answers

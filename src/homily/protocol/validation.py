"""Parse request bodies into wire models, mapping failures to the error envelope (400 shape / 422 value)."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from homily.errors import InvalidRequestError

ModelT = TypeVar("ModelT", bound=BaseModel)

_VALUE_ERROR_TYPES = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "literal_error",
        "enum",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "finite_number",
        "multiple_of",
        # A custom field validator (e.g. publication_date's calendar check) judges a value of the right type.
        "value_error",
    }
)

log = logging.getLogger("homily.validation")


def _location(error: ErrorDetails) -> str:
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # pydantic tags union members with their type name; those are not field names.
            if item in {"str", "list[TextPart]", "NamedToolChoice", "list[str]", "int", "float"}:
                continue
            if item.startswith(("literal[", "function-")):
                continue
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "body"


def _is_value_error(errors: list[ErrorDetails]) -> bool:
    """422 when every failing field has a value problem (range, enum), 400 when any has only shape problems.

    For a union (e.g. `tool_choice`: an enum string or an object), a string outside the enum fails both branches;
    the enum branch's value error decides, so `"sometimes"` is a 422 like any other value outside an enum.
    """
    value_problem: dict[str, bool] = {}
    for error in errors:
        location = _location(error)
        value_problem[location] = value_problem.get(location, False) or error["type"] in _VALUE_ERROR_TYPES
    return all(value_problem.values())


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Decode a JSON request body that must be an object; 400 otherwise."""
    if not body:
        raise InvalidRequestError("The request body is empty; send a JSON object.", param="body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"The request body is not valid JSON: {exc}.", param="body") from exc
    if not isinstance(data, dict):
        raise InvalidRequestError("The request body must be a JSON object.", param="body")
    return data


def parse_model(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """Validate `data` against `model`; unknown top-level fields are logged at debug level and ignored."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = _location(first)
        status = 422 if _is_value_error(errors) else 400
        details = "; ".join(f"{_location(e)}: {e['msg']}" for e in errors[:5])
        raise InvalidRequestError(f"Invalid request: {details}.", param=loc, status=status) from exc
    if log.isEnabledFor(logging.DEBUG):
        unknown = sorted(set(data) - set(model.model_fields))
        if unknown:
            log.debug("ignoring unknown request fields", extra={"fields": unknown})
    return parsed

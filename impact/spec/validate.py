"""A spec loaded and validated: every problem one line naming the file and the field path."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from impact.errors import SpecError
from impact.spec.fields import SPEC_VERSION
from impact.spec.model import LaunchSpec
from impact.spec.yamlfile import _control_character, _placeholders, read_yaml


def load(path: str | Path) -> LaunchSpec:
    """Load and validate a launch spec.

    Raises:
        SpecError: the file is missing, is not YAML, or breaks a rule of the format.
    """
    path = Path(path)
    document = read_yaml(path)
    placeholders = [
        f"{path}: {where}: still a placeholder; replace it with {asked or 'the value'}"
        for where, asked in _placeholders(document)
    ]
    if placeholders:
        more = f" (and {len(placeholders) - 1} more)" if len(placeholders) > 1 else ""
        raise SpecError(placeholders[0] + more, placeholders)
    return from_dict(document, path)


def from_dict(document: dict[str, Any], path: Path) -> LaunchSpec:
    """Validate a parsed spec document; ``path`` names it in errors and anchors its paths."""
    version = document.get("spec_version")
    if version != SPEC_VERSION:
        raise SpecError(
            f"{path}: spec_version: {version!r} is not supported; write spec_version: 1"
        )
    control = _control_character(document)
    if control is not None:
        where, character = control
        raise SpecError(
            f"{path}: {where}: holds the control character U+{ord(character):04X}; a spec's "
            "text reaches terminals and chat, so write plain text"
        )
    try:
        spec = LaunchSpec.model_validate(document)
    except ValidationError as error:
        problems = [_describe(item) for item in error.errors()]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SpecError(
            f"{path}: {problems[0]}{more}", [f"{path}: {p}" for p in problems]
        ) from None
    spec._path = path
    return spec


# --------------------------------------------------------------------------- messages


def _describe(item: Any) -> str:
    loc = tuple(item["loc"])
    where = _field_path(loc)
    kind = item["type"]
    message = str(item["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, _fields_at(loc[:-1]), n=1, cutoff=0.6)
        suggestion = f'; did you mean "{hint[0]}"?' if hint else "; remove it"
        return f"{where}: unknown key{suggestion}"
    if kind == "missing":
        return f"{where}: is required; add it (see docs/spec.md)"
    value = item.get("input")
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    if len(shown) > 80:  # a message names the value; it need not repeat a long one
        shown = shown[:77] + "..."
    if kind == "literal_error":
        return f"{where}: {shown} is not allowed; {message[0].lower()}{message[1:]}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{where}: {shown} is the wrong type; {message[0].lower()}{message[1:]}"
    return f"{where}: {message}" if where else message


def _field_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found by following ``loc`` from LaunchSpec."""
    model: Any = LaunchSpec
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as ``list[Metric] | None`` or
    ``list[Annotated[Segment, ...]]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (types.UnionType, typing.Union, list):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None

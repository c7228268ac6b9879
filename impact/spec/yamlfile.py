"""A spec file read safely: size, nesting and node limits, no aliases, no key twice, numbers
that keep their sign, and the walks that find placeholders and control characters."""

from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path
from typing import Any

import yaml

from impact.errors import SpecError


class _SignKeepingLoader(yaml.SafeLoader):
    """SafeLoader that keeps numbers written with a leading ``+`` as strings.

    YAML reads ``+0.02`` as 0.02; keeping the text lets a target say it was signed.
    """


def _construct_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    text = loader.construct_scalar(node)
    if isinstance(text, str) and text.startswith("+"):
        return text
    if node.tag.endswith(":int"):
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    return yaml.SafeLoader.construct_yaml_float(loader, node)


_SignKeepingLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_SignKeepingLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)


MAX_BYTES = 64 * 1024  # a spec is a few kilobytes (the demo's: 3)
MAX_DEPTH = 32  # a spec nests four or five levels
MAX_NODES = 2000  # keys, values and items (the demo's: 168)


class _Refused(Exception):
    """A YAML construct a spec may not use, found before anything is built from it."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(f"line {mark.line + 1}, column {mark.column + 1}: {message}")


class _SpecLoader(_SignKeepingLoader):
    """The loader for specs: it refuses, while scanning and composing and so before anything
    is expanded, aliases (``*name``: a few lines of them can stand for gigabytes), nesting
    deeper than ``MAX_DEPTH``, more than ``MAX_NODES`` nodes (pure-Python YAML takes about a
    second per 10,000) and a key written twice in one mapping (the last would win unseen)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                event.start_mark,
                f"an alias (*{event.anchor}) repeats another part of the file; aliases are "
                "not allowed in a spec, so write the value out",
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(
                self.peek_event().start_mark,
                f"holds more than {MAX_NODES:,} keys, values and items; a spec holds a few hundred",
            )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(
                self.peek_event().start_mark,
                f"nested more than {MAX_DEPTH} levels deep; a spec nests a few levels",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner reads ahead and its work grows with the square of flow nesting ([[[[...
        # 30,000 deep took a second), so flow nesting is limited as it is scanned.
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(
                self.get_mark(),
                f"nested more than {MAX_DEPTH} levels deep; a spec nests a few levels",
            )
        super().fetch_flow_collection_start(TokenClass)

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: dict[object, yaml.Node] = {}
        for key, _ in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is None:
                continue
            first = seen.setdefault(name, key)
            if first is not key:
                raise _Refused(
                    key.start_mark,
                    f"the key {name!r} is written twice in one mapping (lines "
                    f"{first.start_mark.line + 1} and {key.start_mark.line + 1}); keep one",
                )
        return node


def _nearest(path: Path) -> str:
    """A hint for a spec file that is not there: the nearest spec name in its folder."""
    try:
        names = [p.name for p in itertools.islice(path.parent.iterdir(), 5000)]
    except OSError:
        names = []
    specs = sorted(name for name in names if name.endswith((".yaml", ".yml")))
    close = difflib.get_close_matches(path.name, specs, n=1, cutoff=0.8)
    return f"did you mean {path.parent / close[0]}?" if close else "check the path"


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping safely, turning every problem into a SpecError naming the file.

    Limits, checked before anything is built from the text: at most ``MAX_BYTES`` bytes,
    no aliases, at most ``MAX_DEPTH`` levels and ``MAX_NODES`` nodes, no key twice in one
    mapping.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # never more: a spec path can name /dev/zero
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file; {_nearest(path)}") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a folder; give the path of a .yaml spec file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot be read ({error})") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(
            f"{path}: is larger than {MAX_BYTES:,} bytes; a spec is a few kilobytes of YAML"
        )
    try:
        document = yaml.load(text, Loader=_SpecLoader)
    except _Refused as error:
        raise SpecError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{path}: {where}invalid YAML ({problem}); fix the syntax") from None
    if document is None:
        raise SpecError(f"{path}: is empty; a spec starts with spec_version: 1 (see docs/spec.md)")
    if not isinstance(document, dict):
        raise SpecError(
            f"{path}: a spec is a YAML mapping of fields (spec_version: 1, id: ...); "
            f"found {type(document).__name__}"
        )
    return document


def _placeholders(value: Any, where: str = "") -> list[tuple[str, str]]:
    """The field paths whose value is still a ``<fill in: ...>`` placeholder, each with
    what the placeholder asks for (``what launches, in a few words``)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("<fill in"):
            return []
        asked = text.removeprefix("<fill in").removesuffix(">").lstrip(":").strip()
        return [(where, asked)]
    if isinstance(value, dict):
        return [
            found
            for key, item in value.items()
            for found in _placeholders(item, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in _placeholders(item, f"{where}[{i}]")]
    return []


# Control characters (but tab and line feed) and the bidirectional overrides: in a title
# they would drive the terminal (ANSI colours, OSC-8 links) or reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _control_character(value: Any, where: str = "") -> tuple[str, str] | None:
    """The first field path (and character) whose key or text holds a control character."""
    if isinstance(value, str):
        match = _CONTROL.search(value)
        return (where, match.group()) if match else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            found = _control_character(key, inner) or _control_character(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _control_character(item, f"{where}[{index}]")
            if found:
                return found
    return None

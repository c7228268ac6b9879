"""The verdict payloads the library's reviews issued in this process, by their arguments.

A team template runs the team's own code beside the review. The runner must still publish
the library's verdict, so each review function (``review.run``, ``prepost.run``,
``adoption_review.run``) records the payload it computed here, under the arguments it was
called with (spec path, checkpoint, clock, data source). After the notebook ran, the runner
takes what was issued for its own parameters and refuses a displayed payload that is not
one of them: a changed outcome, another checkpoint or clock, a hand-made payload.

This guards against a template that shows something else by mistake, not against code that
sets out to forge a verdict in the same process. A notebook run in a kernel (``--kernel``)
issues nothing here; the runner then reviews again itself and compares.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

__all__ = ["KEPT", "PER_KEY", "clear", "record", "take", "volatile_removed"]

KEPT = 32  # argument sets remembered; a long session reviewing in a loop stays small
PER_KEY = 8  # payloads remembered per argument set (the latest)
_Key = tuple[str, str | None, str | None, str | None]
_ISSUED: OrderedDict[_Key, list[dict[str, Any]]] = OrderedDict()


def _key(spec_path: object, checkpoint: object, today: object, data_source: object) -> _Key:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return (str(spec_path), text(checkpoint), text(today), text(data_source))


def record(
    spec_path: object,
    checkpoint: object,
    today: object,
    data_source: object,
    payload: dict[str, Any],
) -> None:
    """Remember a payload a review computed for these arguments (a copy of it)."""
    key = _key(spec_path, checkpoint, today, data_source)
    issued = _ISSUED.setdefault(key, [])
    issued.append(copy.deepcopy(payload))
    del issued[:-PER_KEY]
    _ISSUED.move_to_end(key)
    while len(_ISSUED) > KEPT:
        _ISSUED.popitem(last=False)


def clear(parameters: dict[str, str | None]) -> None:
    """Forget what was issued for a notebook's parameters (before the runner runs it)."""
    _ISSUED.pop(_key(*_arguments(parameters)), None)


def take(parameters: dict[str, str | None]) -> list[dict[str, Any]]:
    """The payloads issued for a notebook's parameters, forgotten once taken."""
    return _ISSUED.pop(_key(*_arguments(parameters)), [])


def _arguments(parameters: dict[str, str | None]) -> tuple[object, ...]:
    return (
        parameters["spec_path"],
        parameters["checkpoint"],
        parameters["today"],
        parameters["data_source"],
    )


def volatile_removed(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload without what differs between two runs of one review (when it started,
    how long it took), to compare a notebook's payload with a review run again."""
    kept = copy.deepcopy(payload)
    run = kept.get("run")
    if isinstance(run, dict):
        run.pop("started_at", None)
        run.pop("seconds", None)
    return kept

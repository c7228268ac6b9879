"""Inputs the runner has checked, handed to the notebook it runs in the same process.

``impact review`` checks the spec and the data before the notebook runs, so that bad input
exits 2 without a notebook; the notebook's own ``prepare`` then finds the checked inputs
here instead of reading and checking everything again. A notebook run anywhere else (in
JupyterLab, under plain papermill, in a kernel) finds nothing and checks for itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

__all__ = ["offered", "take"]

T = TypeVar("T")
_Key = tuple[str, str | None, str | None, str | None]
_OFFERED: dict[_Key, object] = {}


def _key(spec_path: str, checkpoint: str | None, today: object, data_source: str | None) -> _Key:
    return (spec_path, checkpoint, None if today is None else str(today), data_source)


@contextlib.contextmanager
def offered(
    checked: object, close: Callable[[], None], parameters: Mapping[str, str | None]
) -> Iterator[None]:
    """While open, the first ``take`` with the notebook's ``parameters`` gets ``checked``.

    Whoever takes it owns it (closes its source); left untaken, ``close`` runs on exit.
    """
    spec_path = parameters["spec_path"]
    assert spec_path is not None
    key = _key(spec_path, parameters["checkpoint"], parameters["today"], parameters["data_source"])
    _OFFERED[key] = checked
    try:
        yield
    finally:
        if _OFFERED.pop(key, None) is not None:
            close()


def take(
    kind: type[T], spec_path: str, checkpoint: str | None, today: object, data_source: str | None
) -> T | None:
    """The inputs offered for these arguments, if they are a ``kind``; None otherwise."""
    key = _key(spec_path, checkpoint, today, data_source)
    found = _OFFERED.get(key)
    if not isinstance(found, kind):
        return None
    del _OFFERED[key]
    return found

"""impact: post-launch impact reviews against pre-registered success criteria."""

from __future__ import annotations

import importlib
import sys
import typing
from importlib import metadata

# Format checks jsonschema loads eagerly and nothing here uses: rfc3987_syntax ("iri", 38 Lark
# grammars built on import, 0.7 s), isoduration ("duration", with arrow) and
# rfc3986_validator ("uri"), about 0.1 s together.
_UNUSED_FORMATS = ("rfc3987_syntax", "isoduration", "rfc3986_validator")


def _import_jsonschema() -> None:
    """Import jsonschema without the format checks of ``_UNUSED_FORMATS``.

    JupyterLab's jupyter-events installs them, and jsonschema imports them eagerly for
    formats that neither verdict.v1.json (only "date") nor nbformat's schema uses: every
    review paid for them. Nothing changes when jsonschema is already loaded, and the
    modules stay importable for everyone else.
    """
    if "jsonschema" in sys.modules or any(name in sys.modules for name in _UNUSED_FORMATS):
        return
    for name in _UNUSED_FORMATS:
        sys.modules[name] = None  # type: ignore[assignment]  # import fails fast
    try:
        import jsonschema  # noqa: F401
    finally:
        for name in _UNUSED_FORMATS:
            del sys.modules[name]


_import_jsonschema()

from impact.errors import (  # noqa: E402  (after the import above)
    DataError,
    ImpactError,
    RegistrationError,
    ReviewFailed,
    SpecError,
)

if typing.TYPE_CHECKING:
    from impact.adoption_review import AdoptionReview
    from impact.prepost import PrepostResult
    from impact.review import ReviewResult
    from impact.spec import LaunchSpec, load

__version__ = metadata.version("impact")

# docs/notebooks.md documents each name; tests/test_frames.py keeps the two the same.
__all__ = [
    "AdoptionReview",
    "DataError",
    "ImpactError",
    "LaunchSpec",
    "PrepostResult",
    "RegistrationError",
    "ReviewFailed",
    "ReviewResult",
    "SpecError",
    "__version__",
    "load",
]

# The result types load their modules (DuckDB, pandas, statsmodels) when first asked for, so
# that `import impact` and the CLI's quick commands stay quick; the spec's too (sqlglot,
# pydantic), so that the `impact` command handles stop signals from its first moments
# (impact/entry.py).
_LAZY = {
    "AdoptionReview": "impact.adoption_review",
    "LaunchSpec": "impact.spec",
    "PrepostResult": "impact.prepost",
    "ReviewResult": "impact.review",
    "load": "impact.spec",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'impact' has no attribute {name!r}")

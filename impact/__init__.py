"""impact: post-launch impact reviews against pre-registered success criteria."""

from __future__ import annotations

import importlib
import sys
import typing
from importlib import metadata


def _import_jsonschema() -> None:
    """Import jsonschema without ``rfc3987_syntax``, which builds 38 Lark grammars on import.

    JupyterLab's jupyter-events installs it, and jsonschema imports it eagerly for the
    ``iri`` format check: 0.7 s of every review, for a format that neither verdict.v1.json
    nor nbformat's schema uses. Nothing changes when jsonschema is already loaded, and the
    module stays importable for everyone else.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import fails fast
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules["rfc3987_syntax"]


_import_jsonschema()

from impact.errors import (  # noqa: E402  (after the import above)
    DataError,
    ImpactError,
    RegistrationError,
    ReviewFailed,
    SpecError,
)
from impact.spec import LaunchSpec, load  # noqa: E402

if typing.TYPE_CHECKING:
    from impact.adoption_review import AdoptionReview
    from impact.prepost import PrepostResult
    from impact.review import ReviewResult

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
# that `import impact` and the CLI's quick commands stay quick.
_LAZY = {
    "AdoptionReview": "impact.adoption_review",
    "PrepostResult": "impact.prepost",
    "ReviewResult": "impact.review",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'impact' has no attribute {name!r}")

"""impact: post-launch impact reviews against pre-registered success criteria."""

from __future__ import annotations

from importlib import metadata

from impact.errors import DataError, ImpactError, RegistrationError, ReviewFailed, SpecError
from impact.spec import LaunchSpec, load

__version__ = metadata.version("impact")

__all__ = [
    "DataError",
    "ImpactError",
    "LaunchSpec",
    "RegistrationError",
    "ReviewFailed",
    "SpecError",
    "__version__",
    "load",
]

"""Registration: the canonical form of a spec, its sha256, and the lock beside it.

The canonical form is the validated spec dumped as JSON with sorted keys, so formatting,
comments and key order do not change it. The lock ``<spec stem>.lock.json`` holds the
canonical form and hash of each registration and amendment, and a hash of itself, so a
hand-edited lock is detected. At review, the spec is compared with the last entry of its lock:
a change in a deciding field makes the verdict invalid; a change of words is only shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impact.errors import RegistrationError
from impact.spec import LaunchSpec

__all__ = ["Registration", "canonical", "check", "lock_path", "sha256"]

# Fields whose change alters only words, never the verdict.
WORDING = ("title", "owner", "description", "hypothesis")


def canonical(spec: LaunchSpec) -> dict[str, Any]:
    """The spec's canonical form: validated values, defaults filled in."""
    return spec.model_dump(mode="json")


def sha256(document: dict[str, Any]) -> str:
    """The sha256 of a canonical form (sorted keys, compact separators)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lock_path(spec: LaunchSpec) -> Path:
    """Where a spec's lock lives: ``<stem>.lock.json`` beside the spec."""
    return spec.path.with_name(f"{spec.path.stem}.lock.json")


@dataclass(frozen=True)
class Registration:
    """What the lock says about a spec, as verdict.json's ``registration`` block.

    Attributes:
        registered: whether a lock exists.
        registered_at: the UTC time of the first registration.
        spec_sha256: the hash of the spec as it is now.
        amendments: the amendments after the registration (number, time, reason).
        changed_fields: fields that differ from the last registration or amendment, each
            ``{"field", "old", "new", "deciding"}``.
        registered_after_launch: whether the registration came after launch_date.
        fixture: whether the lock is a demo fixture written under a frozen clock.
    """

    registered: bool
    registered_at: str | None
    spec_sha256: str
    amendments: list[dict[str, Any]] = field(default_factory=list)
    changed_fields: list[dict[str, Any]] = field(default_factory=list)
    registered_after_launch: bool = False
    fixture: bool = False

    @property
    def tampered(self) -> list[dict[str, Any]]:
        """The changed fields that decide the verdict."""
        return [change for change in self.changed_fields if change["deciding"]]

    def to_json(self) -> dict[str, Any]:
        """The verdict.json block."""
        return {
            "registered": self.registered,
            "registered_at": self.registered_at,
            "spec_sha256": self.spec_sha256,
            "amendments": self.amendments,
            "changed_fields": self.changed_fields,
            "registered_after_launch": self.registered_after_launch,
            "fixture": self.fixture,
        }


def _lock_hash(lock: dict[str, Any]) -> str:
    body = {key: value for key, value in lock.items() if key != "lock_sha256"}
    return sha256(body)


def read_lock(path: Path) -> dict[str, Any]:
    """Read a lock and check its own hash.

    Raises:
        RegistrationError: the lock is not JSON, lacks its entries, or was edited by hand.
    """
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RegistrationError(
            f"{path}: the lock cannot be read ({error}); restore it from git"
        ) from None
    if not isinstance(lock, dict) or not lock.get("entries"):
        raise RegistrationError(f"{path}: not a registration lock; restore it from git")
    if lock.get("lock_sha256") != _lock_hash(lock):
        raise RegistrationError(
            f"{path}: the lock's own hash does not match its content: it was edited by hand; "
            "restore it from git (git log -p shows the change)"
        )
    return lock


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for index, item in enumerate(value):
            name = item.get("name", index) if isinstance(item, dict) else index
            out.update(_flatten(item, f"{prefix}[{name}]"))
        return out
    return {prefix: value}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level differences between two canonical forms, deciding fields first."""
    before, after = _flatten(old), _flatten(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            root = key.split(".")[0].split("[")[0]
            wording = root in WORDING or key.endswith(".description")
            changes.append(
                {
                    "field": key,
                    "old": before.get(key),
                    "new": after.get(key),
                    "deciding": not wording,
                }
            )
    return sorted(changes, key=lambda change: not change["deciding"])


def check(spec: LaunchSpec) -> Registration:
    """Compare a spec with its lock (no lock: not registered)."""
    document = canonical(spec)
    digest = sha256(document)
    path = lock_path(spec)
    if not path.exists():
        return Registration(registered=False, registered_at=None, spec_sha256=digest)
    lock = read_lock(path)
    entries = lock["entries"]
    first, last = entries[0], entries[-1]
    registered_at = str(first["at"])
    launch = dt.datetime.combine(spec.launch_date, dt.time(), tzinfo=dt.UTC)
    after_launch = dt.datetime.fromisoformat(registered_at.replace("Z", "+00:00")) >= launch
    return Registration(
        registered=True,
        registered_at=registered_at,
        spec_sha256=digest,
        amendments=[
            {"number": e["number"], "at": e["at"], "reason": e.get("reason")} for e in entries[1:]
        ],
        changed_fields=[] if last["sha256"] == digest else diff(last["canonical"], document),
        registered_after_launch=after_launch,
        fixture=bool(lock.get("fixture", False)),
    )

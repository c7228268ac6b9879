"""Registration: freeze a spec before launch, amend it in the open, detect any other change.

The canonical form of a spec is its validated content dumped as JSON with sorted keys, so
formatting, comments and key order do not change it. The lock ``<spec stem>.lock.json`` beside
the spec holds one entry per registration and amendment (canonical form, sha256, UTC time,
tool version, git commit, whether the spec was committed, the reason and the field-level
changes) and a hash of itself, so a hand-edited lock is detected.

At review the spec is compared with the lock's last entry: a change in a deciding field makes
the verdict invalid; a change of words (title, owner, descriptions, hypothesis) is shown but
does not block.

What a lock cannot prove: its times come from the machine that wrote it. Someone determined
can rewrite a lock with a fresh self-hash; committing the lock before launch is what makes
that visible, because git history then shows the lock's first version and when it landed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from impact import team_templates
from impact.errors import RegistrationError
from impact.spec import LaunchSpec

__all__ = [
    "LOCK_VERSION",
    "BetAtLaunch",
    "Registration",
    "amend",
    "bet_at_launch",
    "bet_drift_lines",
    "canonical",
    "change_values",
    "change_words",
    "changes_since_words",
    "check",
    "diff",
    "is_bet",
    "lock_path",
    "read_lock",
    "register",
    "sha256",
]

LOCK_VERSION = 1
VERSION = metadata.version("impact")
# Fields whose change alters only words, never the verdict.
WORDING = ("title", "owner", "description", "hypothesis")
# Registered and hashed, shown when changed, never deciding: the RICE bet (the quarter reads
# it) and the team template (how the report looks).
NOT_DECIDING = (*WORDING, "bet", "template")


# Fields added to format v1 after its first release, with their defaults. A field at its
# default is left out of the canonical form, so a spec written before the field existed
# keeps its hash and its lock stays valid.
_GROWN_TOP: dict[str, Any] = {"bet": None, "segments": [], "rollout": None, "template": None}
_GROWN_DATA: dict[str, Any] = {
    "pre_period": None,
    "joins": None,
    "completeness": None,
    "accrual_end": None,
}
_GROWN_METRIC: dict[str, Any] = {
    "controls": [],
    "seasonality": None,
    "trend": False,
    "flow": False,
    "matures_after": None,
    "unit": None,
    "format": None,
}
DISPLAY = (".description", ".unit", ".format")  # how a metric is shown, not what decides


def canonical(spec: LaunchSpec) -> dict[str, Any]:
    """The spec's canonical form: validated values, defaults filled in.

    Fields that later releases added are left out while at their default (see _GROWN_*).
    """
    document = spec.model_dump(mode="json")
    _drop_defaults(document, _GROWN_TOP)
    _drop_defaults(document["data"], _GROWN_DATA)
    metrics = document["metrics"]
    for metric in [metrics["primary"], *metrics["guardrails"], *metrics["secondary"]]:
        if metric is not None:
            _drop_defaults(metric, _GROWN_METRIC)
    return document


def _drop_defaults(section: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, default in defaults.items():
        if key in section and section[key] == default:
            del section[key]


def sha256(document: dict[str, Any]) -> str:
    """The sha256 of a JSON document in canonical text (sorted keys, compact separators)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lock_path(spec: LaunchSpec) -> Path:
    """Where a spec's lock lives: ``<stem>.lock.json`` beside the spec."""
    return spec.path.with_name(f"{spec.path.stem}.lock.json")


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _launch(spec: LaunchSpec) -> dt.datetime:
    return dt.datetime.combine(spec.launch_date, dt.time(), tzinfo=dt.UTC)


# --------------------------------------------------------------------------- diff


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{item.get('name', index)}]"))
        return out
    return {prefix: value}


def _is_wording(field_path: str) -> bool:
    root = field_path.split(".")[0].split("[")[0]
    return root in NOT_DECIDING or field_path.endswith(DISPLAY)


def change_words(change: dict[str, Any]) -> str:
    """A change from ``diff`` as a user reads it: ``field: old -> new``, a field that is not
    set (absent, or left at its default, as the lock keeps it) written "not set", not None.

    Examples:
        >>> change_words({"field": "metrics.primary.controls", "old": ["visits"], "new": None})
        "metrics.primary.controls: ['visits'] -> not set"
    """
    return f"{change['field']}: {change_values(change)}"


def change_values(change: dict[str, Any]) -> str:
    """The ``old -> new`` part of ``change_words``."""

    def shown(value: Any) -> str:
        return "not set" if value is None else repr(value)

    return f"{shown(change['old'])} -> {shown(change['new'])}"


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level differences between two canonical forms, deciding fields first.

    Each change is ``{"field", "old", "new", "deciding"}``; a metric is named by its name
    (``metrics.guardrails[refund_rate].margin``), so adding or removing one shows as fields
    going from or to null.
    """
    before, after = _flatten(old), _flatten(new)
    changes = [
        {
            "field": key,
            "old": before.get(key),
            "new": after.get(key),
            "deciding": not _is_wording(key),
        }
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    return sorted(changes, key=lambda change: not change["deciding"])


# --------------------------------------------------------------------------- the lock


def _lock_hash(lock: dict[str, Any]) -> str:
    return sha256({key: value for key, value in lock.items() if key != "lock_sha256"})


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
    if (
        not isinstance(lock, dict)
        or not isinstance(lock.get("entries"), list)
        or not lock["entries"]
    ):
        raise RegistrationError(f"{path}: not a registration lock; restore it from git")
    if lock.get("lock_sha256") != _lock_hash(lock):
        raise RegistrationError(
            f"{path}: the lock's own hash does not match its content, so it was edited by "
            "hand; restore it from git (git log -p shows the change)"
        )
    for entry in lock["entries"]:
        if not isinstance(entry, dict) or sha256(entry.get("canonical", {})) != entry.get("sha256"):
            raise RegistrationError(
                f"{path}: entry {entry.get('number') if isinstance(entry, dict) else '?'} does "
                "not match its hash; restore the lock from git"
            )
        _check_entry(path, entry)
    return lock


def _check_entry(path: Path, entry: dict[str, Any]) -> None:
    """An entry's time is an ISO time in UTC, and its parts have their types."""
    number = entry.get("number", "?")
    at = entry.get("at")
    try:
        moment = _parse_time(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        shown = repr(at)[:60]
        zone = " without a time zone" if moment is not None else ""
        raise RegistrationError(
            f"{path}: entry {number}: at is {shown}{zone}; a lock's times are UTC such as "
            "2026-08-20T10:00:00Z, so restore the lock from git"
        )
    changes = entry.get("changes", [])
    if (
        not isinstance(entry.get("canonical"), dict)
        or not isinstance(changes, list)
        or not all(isinstance(c, dict) and "field" in c and "deciding" in c for c in changes)
    ):
        raise RegistrationError(
            f"{path}: entry {number} is not a registration entry; restore the lock from git"
        )


def _write_lock(path: Path, lock: dict[str, Any]) -> None:
    """Write a lock atomically (a temporary file renamed into place)."""
    lock = {**lock, "lock_sha256": _lock_hash(lock)}
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(staged, path)


def _git(spec: LaunchSpec) -> tuple[str | None, bool]:
    """The repository's HEAD commit and whether the spec file is committed unchanged."""
    folder = spec.path.resolve().parent

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if commit is None:
        return None, False
    tracked = run("ls-files", "--error-unmatch", spec.path.resolve().name)
    status = run("status", "--porcelain", "--", spec.path.resolve().name)
    return commit, tracked is not None and status == ""


def _entry(
    spec: LaunchSpec,
    number: int,
    kind: str,
    now: dt.datetime,
    reason: str | None,
    changes: list[dict[str, Any]],
) -> dict[str, Any]:
    document = canonical(spec)
    commit, committed = _git(spec)
    return {
        "number": number,
        "kind": kind,
        "at": _timestamp(now),
        "sha256": sha256(document),
        "canonical": document,
        "impact_version": VERSION,
        "git_commit": commit,
        "git_committed": committed,
        "reason": reason,
        "changes": changes,
        "template": _template(spec),
    }


def _template(spec: LaunchSpec) -> dict[str, str] | None:
    """The team template's path (as the spec gives it) and sha256; None without one."""
    found = team_templates.find(spec)
    if found is None:
        return None
    return {"path": str(spec.template), "sha256": team_templates.sha256(found)}


def _template_change(last: dict[str, Any], spec: LaunchSpec) -> list[dict[str, Any]]:
    """The team template file's change since ``last`` entry, as a words-only change."""
    before = (last.get("template") or {}).get("sha256")
    now = (_template(spec) or {}).get("sha256")
    if before == now or now is None:
        return []
    return [{"field": "template (file sha256)", "old": before, "new": now, "deciding": False}]


def register(spec: LaunchSpec, *, now: dt.datetime, fixture: bool = False) -> Path:
    """Write the spec's lock: its first registration.

    Args:
        spec: the loaded spec.
        now: the registration time (the real clock in the CLI; tests freeze it).
        fixture: mark the lock as a demo fixture written under a frozen clock.

    Raises:
        RegistrationError: a lock exists already (amend instead).
    """
    path = lock_path(spec)
    if path.exists():
        raise RegistrationError(
            f"{path}: {spec.id} is registered already; to change it, run "
            f'impact amend {spec.path} --reason "..."'
        )
    lock: dict[str, Any] = {
        "lock_version": LOCK_VERSION,
        "spec_id": spec.id,
        "spec_file": spec.path.name,
        "fixture": fixture,
        "entries": [_entry(spec, 0, "registration", now, None, [])],
    }
    _write_lock(path, lock)
    return path


def _fields(changes: list[dict[str, Any]]) -> set[str]:
    return {change["field"] for change in changes}


def amend(spec: LaunchSpec, *, reason: str, now: dt.datetime) -> dict[str, Any]:
    """Append a numbered amendment with its field-level changes; return the new entry.

    Raises:
        RegistrationError: no lock, an empty reason, or nothing changed.
    """
    path = lock_path(spec)
    if not path.exists():
        raise RegistrationError(
            f"{spec.path}: not registered yet; run impact register {spec.path} first"
        )
    if not reason.strip():
        raise RegistrationError(
            f'{spec.path}: an amendment needs a reason; add --reason "why the criteria change"'
        )
    lock = read_lock(path)
    last = lock["entries"][-1]
    changes = diff(last["canonical"], canonical(spec))
    changes += [c for c in _template_change(last, spec) if c["field"] not in _fields(changes)]
    if not changes:
        raise RegistrationError(
            f"{spec.path}: nothing changed since entry {last['number']}; there is nothing to amend"
        )
    entry = _entry(spec, len(lock["entries"]), "amendment", now, reason.strip(), changes)
    lock["entries"].append(entry)
    lock.pop("lock_sha256", None)
    _write_lock(path, lock)
    return entry


# --------------------------------------------------------------------------- at review


@dataclass(frozen=True)
class Registration:
    """What the lock says about a spec, as verdict.json's ``registration`` block.

    Attributes:
        registered: whether a lock exists.
        registered_at: the UTC time of the first registration.
        spec_sha256: the hash of the spec as it is now.
        amendments: the amendments (number, time, reason, after_launch, changed fields).
        changed_fields: fields that differ from the last registration or amendment, each
            ``{"field", "old", "new", "deciding"}``.
        registered_after_launch: whether the registration came after launch_date.
        fixture: whether the lock is a demo fixture written under a frozen clock.
        git_commit: the commit checked out when the spec was registered.
        template_sha256: the team template's sha256 at the last registration or amendment
            (None: the spec had no team template then).
        template_changed: whether the team template differs from that one (shown, never
            deciding).
    """

    registered: bool
    registered_at: str | None
    spec_sha256: str
    amendments: list[dict[str, Any]] = field(default_factory=list)
    changed_fields: list[dict[str, Any]] = field(default_factory=list)
    registered_after_launch: bool = False
    fixture: bool = False
    git_commit: str | None = None
    template_sha256: str | None = None
    template_changed: bool = False

    @property
    def tampered(self) -> list[dict[str, Any]]:
        """The changed fields that decide the verdict."""
        return [change for change in self.changed_fields if change["deciding"]]

    @property
    def amended_after_launch(self) -> list[dict[str, Any]]:
        """Amendments made on or after launch day that changed a deciding field."""
        return [a for a in self.amendments if a["after_launch"] and a["deciding_fields"]]

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
            "git_commit": self.git_commit,
            "template_sha256": self.template_sha256,
            "template_changed": self.template_changed,
        }


def amendment_time(spec: LaunchSpec, at: dt.datetime) -> str:
    """When an amendment came, on the review's clock (the launch and the looks' as_of dates,
    never the machine's): ``before launch``, ``after launch`` or ``after the <N>d review``
    (the latest registered look whose as_of had passed, so its verdict could be seen)."""
    if at < _launch(spec):
        return "before launch"
    passed = [days for days in spec.reviews if spec.as_of(days).replace(tzinfo=dt.UTC) <= at]
    if passed:
        return f"after the {passed[-1]}d review"
    return "after launch"


def check(spec: LaunchSpec) -> Registration:
    """Compare a spec with its lock (no lock: not registered).

    Raises:
        RegistrationError: the lock is corrupted or was edited by hand.
    """
    document = canonical(spec)
    digest = sha256(document)
    path = lock_path(spec)
    if not path.exists():
        return Registration(registered=False, registered_at=None, spec_sha256=digest)
    lock = read_lock(path)
    if lock.get("spec_id") != spec.id:
        raise RegistrationError(
            f"{path}: the lock is for {lock.get('spec_id')!r}, not {spec.id!r}; a lock belongs "
            "to one spec"
        )
    entries = lock["entries"]
    first, last = entries[0], entries[-1]
    launch = _launch(spec)
    amendments = [
        {
            "number": entry["number"],
            "at": entry["at"],
            "reason": entry.get("reason"),
            "after_launch": _parse_time(entry["at"]) >= launch,
            "deciding_fields": [c["field"] for c in entry.get("changes", []) if c["deciding"]],
            "changes": list(entry.get("changes", [])),
            "when": amendment_time(spec, _parse_time(entry["at"])),
        }
        for entry in entries[1:]
    ]
    return Registration(
        registered=True,
        registered_at=str(first["at"]),
        spec_sha256=digest,
        amendments=amendments,
        changed_fields=[] if last["sha256"] == digest else diff(last["canonical"], document),
        registered_after_launch=_parse_time(first["at"]) >= launch,
        fixture=bool(lock.get("fixture", False)),
        git_commit=first.get("git_commit"),
        template_sha256=(last.get("template") or {}).get("sha256"),
        template_changed=bool(_template_change(last, spec)),
    )


# --------------------------------------------------------------------------- the bet


@dataclass(frozen=True)
class BetAtLaunch:
    """The RICE bet as it stood at launch: the prediction the quarter judges.

    Attributes:
        bet: the bet's canonical form (reach, impact as written without its sign,
            confidence, effort): the last one registered before launch, else the spec's own
            (None when neither has one).
        registered_before_launch: whether a registration or amendment before launch_date
            holds the bet.
        drift: how the spec's bet differs from it now, each ``{"field", "old", "new"}``
            (``{"field": "bet", "old": None, "new": ...}`` for a bet added after launch).
    """

    bet: dict[str, Any] | None
    registered_before_launch: bool
    drift: list[dict[str, Any]] = field(default_factory=list)


def bet_at_launch(spec: LaunchSpec) -> BetAtLaunch:
    """The bet registered before launch and what changed in it since (nothing decides on it).

    Raises:
        RegistrationError: the lock is corrupted or was edited by hand.
    """
    now = canonical(spec).get("bet")
    path = lock_path(spec)
    if not path.exists():
        return BetAtLaunch(now, False)
    launch = _launch(spec)
    before = [e for e in read_lock(path)["entries"] if _parse_time(e["at"]) < launch]
    registered = before[-1]["canonical"].get("bet") if before else None
    if registered is None:
        drift = [{"field": "bet", "old": None, "new": now}] if now is not None else []
        return BetAtLaunch(now, False, drift)
    changes = [
        {"field": change["field"], "old": change["old"], "new": change["new"]}
        for change in diff({"bet": registered}, {"bet": now} if now else {"bet": None})
    ]
    return BetAtLaunch(registered, True, changes)


def is_bet(field_path: str) -> bool:
    """Whether a changed field is the bet's (shown, never deciding, and never "wording")."""
    return field_path.split(".")[0] == "bet"


def changes_since_words(changed: list[dict[str, Any]]) -> str:
    """The non-deciding changes since registration, for the registration check's detail:
    wording fields by name, the bet's fields with their old and new values."""
    wording = [c["field"] for c in changed if not c["deciding"] and not is_bet(c["field"])]
    bet = [f"{c['field']} {c['old']} -> {c['new']}" for c in changed if is_bet(c["field"])]
    words = f"; wording changed since: {', '.join(wording)}" if wording else ""
    if bet:
        words += (
            f"; the bet changed since it was registered: {', '.join(bet)} (shown, never "
            "deciding; the quarter judges the bet registered before launch)"
        )
    return words


def bet_drift_lines(spec: LaunchSpec) -> list[str]:
    """One line when the spec's bet differs from the bet registered before launch."""
    found = bet_at_launch(spec)
    if not found.drift:
        return []
    if found.drift[0]["field"] == "bet" and found.drift[0]["old"] is None:
        return [f"{spec.id}: the bet was added after launch; the quarter counts it apart"]
    changes = ", ".join(f"{c['field']} {c['old']} -> {c['new']}" for c in found.drift)
    return [
        f"{spec.id}: the bet changed after launch ({changes}); the quarter judges the bet "
        "registered before launch"
    ]

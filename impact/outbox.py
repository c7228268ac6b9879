"""Notifications as an outbox on disk: written with the publish, delivered until accepted.

A review run with notifications stages its message beside its files; publishing moves it
into ``reports/.outbox/`` (``impact.publish``), so a published verdict always has its
message and a message never exists for a set that was not published. ``impact run --due
--notify URL`` then delivers every waiting message, oldest first, and moves each one the
receiver accepted (a 2xx answer) into ``reports/.outbox/sent/``; the others wait for the
next run. Each message carries a stable delivery key (launch, checkpoint and the verdict's
hash) in its payload (``idempotency_key``) and in the ``Idempotency-Key`` header, so a
receiver can drop a repeat.

The payload is ``{"text": <verdict.md>, "idempotency_key": ...}``: Slack and Microsoft Teams
incoming webhooks read ``text`` and ignore the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impact import message
from impact.errors import SpecError
from impact.layout import OUTBOX_FOLDER

__all__ = [
    "REPORT_URL_VARIABLE",
    "Delivery",
    "check_url",
    "deliver",
    "delivery_key",
    "pending",
    "post",
    "report_link",
    "stage",
]

REPORT_URL_VARIABLE = "IMPACT_REPORT_URL"
STAGED = "message.json"


def check_url(url: str, *, option: str = "--notify") -> str:
    """The URL when it is an http(s) URL with a host; else SpecError (exit 2)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SpecError(
            f"{option}: {url!r} is not an http(s) URL; give the webhook's full address, "
            "such as https://hooks.slack.com/services/..."
        )
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise SpecError(f"{option}: {url!r} has a port that is not a number") from None
    return url


def report_link(spec_id: str, label: str, base: str | None) -> str:
    """The report's address for a message: under ``base`` (--report-url, or the
    IMPACT_REPORT_URL variable) when set, else its path under the output folder."""
    base = base or os.environ.get(REPORT_URL_VARIABLE) or None
    if base:
        return f"{base.rstrip('/')}/{spec_id}/{label}.html"
    return f"reports/{spec_id}/{label}.html"


def delivery_key(verdict: dict[str, Any]) -> str:
    """``<id>:<N>d:<first 16 hex digits of the verdict's sha256>``: the same for one verdict."""
    canonical = json.dumps(verdict, sort_keys=True, ensure_ascii=False, allow_nan=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    return f"{verdict['spec_id']}:{verdict['checkpoint']}:{digest}"


def stage(run_dir: Path, verdict: dict[str, Any], *, stamp: str, report_url: str | None) -> Path:
    """Write a verdict's message into its run folder (published with its files)."""
    label = str(verdict["checkpoint"])
    key = delivery_key(verdict)
    document = {
        "key": key,
        "spec_id": verdict["spec_id"],
        "checkpoint": label,
        "created": stamp,
        "text": message.markdown(verdict, report_link(verdict["spec_id"], label, report_url)),
    }
    path = run_dir / STAGED
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def _folder(output: Path) -> Path:
    return output / "reports" / OUTBOX_FOLDER


def _file_name(key: str) -> str:
    return key.replace(":", "_") + ".json"


def post(output: Path, staged: Path) -> None:
    """Move a staged message into the outbox (idempotent: a message already there stays)."""
    if not staged.exists():
        return
    document = json.loads(staged.read_text(encoding="utf-8"))
    folder = _folder(output)
    (folder / "sent").mkdir(parents=True, exist_ok=True)
    name = _file_name(document["key"])
    if (folder / "sent" / name).exists():
        staged.unlink()
        return
    os.replace(staged, folder / name)


def pending(output: Path) -> list[dict[str, Any]]:
    """The messages waiting for delivery, oldest first."""
    found: list[Any] = []
    folder = _folder(output)
    if not folder.is_dir():
        return found
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            document = json.loads(path.read_text(encoding="utf-8"))
            document["_path"] = str(path)
            found.append(document)
    return sorted(found, key=lambda d: (str(d.get("created", "")), str(d.get("key", ""))))


@dataclass
class Delivery:
    """What one delivery round did.

    Attributes:
        sent: the keys the receiver accepted.
        waiting: one line per message still in the outbox (why, where known).
        busy: another run was delivering, so this one left the outbox alone.
    """

    sent: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    busy: bool = False


@contextlib.contextmanager
def _delivery_lock(output: Path) -> Iterator[bool]:
    folder = _folder(output)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _send(url: str, document: dict[str, Any], timeout: float) -> None:
    body = json.dumps({"text": document["text"], "idempotency_key": document["key"]}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": document["key"]},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"the webhook answered {response.status}")


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"the webhook answered {error.code}"
    if isinstance(error, urllib.error.URLError):
        return f"the webhook cannot be reached ({error.reason})"
    return str(error) or type(error).__name__


def deliver(output: Path, url: str, *, timeout: float = 10.0) -> Delivery:
    """Deliver every waiting message to ``url``, oldest first.

    The first refusal stops the round (the receiver is down or refuses: the later messages
    keep their order and wait with it). Only one run delivers at a time.
    """
    done = Delivery()
    with _delivery_lock(output) as held:
        if not held:
            done.busy = True
            done.waiting = [str(d.get("key")) for d in pending(output)]
            return done
        messages = pending(output)
        for position, document in enumerate(messages):
            try:
                _send(url, document, timeout)
            except (OSError, ValueError) as error:
                reason = _reason(error)
                done.waiting = [
                    f"{d.get('spec_id')} {d.get('checkpoint')}: not delivered ({reason}); "
                    "kept in reports/.outbox/ for the next run"
                    for d in messages[position:]
                ]
                break
            path = Path(document["_path"])
            os.replace(path, path.parent / "sent" / path.name)
            done.sent.append(str(document["key"]))
    return done

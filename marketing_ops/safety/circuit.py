"""Circuit breakers: one lock file per platform that failed.

A failed preflight (or a revoked credential met mid-run) opens the
platform's breaker: ``circuit_{platform}.lock`` in the state directory,
written atomically, holding the reason code, a one-line detail, when it
opened, until when it cools down and a fingerprint of the credentials
(never the credentials).  While it cools down, preflight does not call the
platform at all — unless the credential fingerprint changed, which means an
operator fixed something, so preflight checks again at once.  After the
cooldown the next preflight closes it or opens it anew.

The cooldown is 24 h unless ``circuit_breakers.cooldown_hours`` in
platforms.yaml sets another for the reason code.

A lock file that cannot be read or parsed counts as open: when in doubt,
stay away from the platform.  ``marketing-ops circuit reset PLATFORM``
removes it.

This module only touches files and the ledger: no network, no heavy
imports, so ``status`` stays fast.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

from marketing_ops import PLATFORMS
from marketing_ops.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_HOURS = 24.0
LOCK_VERSION = 1


@dataclass
class Breaker:
    platform: str
    path: Path
    reason_code: str | None = None
    detail: str = ""
    opened_at: datetime | None = None
    cooldown_until: datetime | None = None
    fingerprint: str | None = None
    #: Why the lock file could not be read; such a breaker counts as open.
    corrupt: str | None = None

    def cooling_down(self, now: datetime | None = None) -> bool:
        """True while preflight must leave the platform alone.  A corrupt
        lock has no end to its cooldown."""
        if self.corrupt or self.cooldown_until is None:
            return True
        return (now or utc_now()) < self.cooldown_until

    def describe(self, now: datetime | None = None) -> str:
        if self.corrupt:
            return (f"lock file unreadable ({self.corrupt}); counted as open "
                    f"— run: marketing-ops circuit reset {self.platform}")
        state = ("cooling down until " + iso(self.cooldown_until)
                 if self.cooling_down(now) else
                 "cooldown over, next preflight re-checks")
        return (f"{self.reason_code} - {self.detail} (opened "
                f"{iso(self.opened_at)}, {state})")

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "reason_code": self.reason_code,
                "detail": self.detail, "opened_at": iso(self.opened_at),
                "cooldown_until": iso(self.cooldown_until),
                "fingerprint": self.fingerprint, "corrupt": self.corrupt,
                "cooling_down": self.cooling_down()}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_path(settings, platform: str) -> Path:
    return Path(settings.state_dir) / f"circuit_{platform}.lock"


# -- reading ---------------------------------------------------------------

def read_breaker(settings, platform: str) -> Breaker | None:
    """The platform's breaker, or None when it is closed.  Never raises:
    an unreadable lock comes back as a corrupt (open) breaker."""
    path = lock_path(settings, platform)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return Breaker(platform, path, corrupt=_reason(exc))

    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return Breaker(
            platform=platform, path=path,
            reason_code=str(data["reason_code"]),
            detail=str(data.get("detail", "")),
            opened_at=_parse(data.get("opened_at")),
            cooldown_until=_parse(data["cooldown_until"], required=True),
            fingerprint=data.get("fingerprint"))
    except (ValueError, KeyError, TypeError) as exc:
        return Breaker(platform, path, corrupt=_reason(exc))


def is_open(settings, platform: str) -> bool:
    """True while the platform's lock file exists (readable or not).  An
    expired cooldown does not close a breaker: the next preflight does."""
    return os.path.lexists(lock_path(settings, platform))


def list_breakers(settings) -> list[Breaker]:
    found = []
    for platform in PLATFORMS:
        breaker = read_breaker(settings, platform)
        if breaker:
            found.append(breaker)
    return found


# -- opening, closing, resetting ---------------------------------------------

def cooldown_hours(platforms_config: Mapping[str, Any] | None,
                   reason_code: str) -> float:
    section = (platforms_config or {}).get("circuit_breakers") or {}
    per_reason = section.get("cooldown_hours") or {}
    if reason_code in per_reason:
        return float(per_reason[reason_code])
    return float(section.get("default_cooldown_hours",
                             DEFAULT_COOLDOWN_HOURS))


def open_breaker(settings, ledger, platform: str, reason_code: str,
                 detail: str, fingerprint: str | None, *,
                 platforms_config: Mapping[str, Any] | None = None,
                 now: datetime | None = None,
                 agent: str | None = None) -> Breaker:
    """Open (or re-open) the platform's breaker and record
    ``CIRCUIT_BREAKER_OPENED``.  ``platforms_config`` gives the cooldowns;
    when None, config/platforms.yaml is read (defaults if it cannot be)."""
    if platforms_config is None:
        platforms_config = _load_platforms_config(settings)
    now = now or utc_now()
    hours = cooldown_hours(platforms_config, reason_code)
    detail = " ".join(str(detail).split())
    previous = read_breaker(settings, platform)

    breaker = Breaker(platform, lock_path(settings, platform), reason_code,
                      detail, now, now + timedelta(hours=hours), fingerprint)
    _write_atomically(breaker.path, {
        "version": LOCK_VERSION, "platform": platform,
        "reason_code": reason_code, "detail": detail,
        "opened_at": iso(now), "cooldown_until": iso(breaker.cooldown_until),
        "fingerprint": fingerprint})

    logger.warning("%s: circuit breaker opened: %s - %s (cooldown %g h)",
                   platform, reason_code, detail, hours)
    ledger.record(action="CIRCUIT_BREAKER_OPENED", status="blocked",
                  agent=agent, platform=platform, reason_code=reason_code,
                  message=f"{platform}: {reason_code} - {detail}",
                  details={"cooldown_until": iso(breaker.cooldown_until),
                           "cooldown_hours": hours,
                           "reopened": previous is not None})
    return breaker


def close_breaker(settings, ledger, platform: str, detail: str, *,
                  agent: str | None = None) -> bool:
    """Remove the lock after a passed preflight; record
    ``CIRCUIT_BREAKER_CLOSED``.  False when there was none."""
    previous = read_breaker(settings, platform)
    if previous is None:
        return False
    _remove(previous.path)
    logger.info("%s: circuit breaker closed: %s", platform, detail)
    ledger.record(action="CIRCUIT_BREAKER_CLOSED", status="success",
                  agent=agent, platform=platform,
                  message=f"{platform}: preflight passed, breaker closed "
                          f"({detail})",
                  details={"was": previous.reason_code or "corrupt lock"})
    return True


def reset_breaker(settings, ledger, platform: str, who: str) -> bool:
    """The operator's reset: remove the lock whatever it holds; record
    ``CIRCUIT_BREAKER_RESET``.  False when there was none."""
    previous = read_breaker(settings, platform)
    if previous is None:
        ledger.record(action="CIRCUIT_BREAKER_RESET", status="skipped",
                      platform=platform,
                      message=f"{platform}: {who} asked for a reset, but the "
                              "breaker was not open")
        return False
    _remove(previous.path)
    ledger.record(action="CIRCUIT_BREAKER_RESET", status="success",
                  platform=platform,
                  reason_code=previous.reason_code,
                  message=f"{platform}: breaker reset by {who} (was "
                          f"{previous.reason_code or 'an unreadable lock'})")
    return True


def _write_atomically(path: Path, data: dict) -> None:
    """Temp file, fsync, rename, fsync the folder: a reader sees the old
    lock or the new one, never half of one, even after a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    try:
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _parse(value, required: bool = False) -> datetime | None:
    if value is None:
        if required:
            raise ValueError("no cooldown_until")
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]}"
    return str(exc)[:120] or type(exc).__name__


def _load_platforms_config(settings) -> dict:
    from marketing_ops.config.yamlfile import load_yaml
    from marketing_ops.errors import ConfigErrors

    try:
        return load_yaml(Path(settings.config_dir) / "platforms.yaml",
                         "platforms")
    except ConfigErrors:
        logger.warning("platforms.yaml unreadable; using the default "
                       "breaker cooldown of %g h", DEFAULT_COOLDOWN_HOURS)
        return {}


# -- commands ----------------------------------------------------------------

def print_status(settings) -> None:
    """The breakers section of ``marketing-ops status``."""
    breakers = list_breakers(settings)
    print("Circuit breakers:")
    if not breakers:
        print("  all closed")
        return
    for breaker in breakers:
        print(f"  {breaker.platform:<9} OPEN  {breaker.describe()}")


def command(args) -> int:
    """``marketing-ops circuit list`` / ``circuit reset PLATFORM``."""
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import open_ledger, operator_name

    settings = load_settings(args.config_dir, args.state_dir)
    if args.action == "list":
        if args.platform:
            raise ConfigError("circuit list takes no platform; use: "
                              "marketing-ops circuit list")
        print_status(settings)
        return 0

    if args.platform not in PLATFORMS:
        raise ConfigError(f"circuit reset needs a platform, one of "
                          f"{', '.join(PLATFORMS)}; e.g. marketing-ops "
                          "circuit reset github")
    with open_ledger(settings, agent="operator") as ledger:
        removed = reset_breaker(settings, ledger, args.platform,
                                operator_name())
    if removed:
        print(f"{args.platform}: circuit breaker reset; the next preflight "
              "checks it again.")
    else:
        print(f"{args.platform}: circuit breaker was not open; nothing to "
              "do.")
    return 0

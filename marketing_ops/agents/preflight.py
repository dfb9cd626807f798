"""Preflight: check every platform's credentials, all at once.

For each platform, in order, cheapest first:

1. disabled (``ENABLE_X=false`` …)          -> UNSUPPORTED_AUTH "Disabled"
2. no API (Hacker News)                    -> UNSUPPORTED_AUTH "No API"
3. credentials missing (no network call)   -> UNSUPPORTED_AUTH "No credentials"
4. circuit breaker open and cooling down, credentials unchanged
                                           -> skipped, the breaker's reason
5. the connector's own check (a call to the platform, or for X by default
   only a format check)

The checks of step 5 run concurrently in threads, each bounded by the
platform's preflight timeout, so the whole preflight takes about as long as
the slowest platform.  Afterwards, in this thread: every result is recorded
in the ledger, a failure opens (or keeps open) the platform's breaker and a
pass closes it.

``run_preflight`` is what the distribution agent calls; ``command`` is
``marketing-ops preflight [--json]``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Any, Mapping

from marketing_ops import PLATFORMS
from marketing_ops.platforms.base import (NETWORK_ERROR, PLATFORM_ERROR,
                                          UNSUPPORTED_AUTH, PreflightResult)
from marketing_ops.safety import circuit

logger = logging.getLogger(__name__)

DEFAULT_PREFLIGHT_TIMEOUT = 20.0
DEFAULT_REQUEST_TIMEOUT = 15.0

#: Fingerprint stored when a platform was disabled: it never equals a
#: credential fingerprint, so enabling the platform re-checks at once.
DISABLED_FINGERPRINT = "disabled"


def run_preflight(settings, config, ledger, *,
                  platforms: list[str] | tuple[str, ...] | None = None,
                  now: datetime | None = None) -> list[PreflightResult]:
    """Check ``platforms`` (default: all), record the results and set the
    breakers.  ``config`` is the loaded Config or just the platforms.yaml
    mapping.  Results come back in the order of ``PLATFORMS``."""
    platforms_config = _platforms_section(config)
    names = [p for p in PLATFORMS if platforms is None or p in platforms]
    now = now or circuit.utc_now()

    checked = _check_concurrently(settings, platforms_config, names, now)

    results = []
    for platform in names:
        result, fingerprint = checked[platform]
        _record(settings, ledger, platforms_config, result, fingerprint, now)
        results.append(result)
    return results


# -- the checks ------------------------------------------------------------

def _check_concurrently(settings, platforms_config, names, now):
    """{platform: (PreflightResult, fingerprint)}, each check bounded by
    its platform's preflight timeout."""
    pool = ThreadPoolExecutor(max_workers=max(len(names), 1),
                              thread_name_prefix="preflight")
    started = time.monotonic()
    futures = {p: pool.submit(_check_one, settings, platforms_config, p, now)
               for p in names}

    checked = {}
    for platform, future in futures.items():
        limit = preflight_timeout(platforms_config, platform)
        remaining = max(limit - (time.monotonic() - started), 0.0)
        try:
            checked[platform] = future.result(timeout=remaining)
        except FutureTimeout:
            logger.warning("%s: preflight gave up after %g s", platform,
                           limit)
            checked[platform] = (PreflightResult(
                platform, False, NETWORK_ERROR,
                f"no answer within the preflight timeout of {limit:g} s",
                seconds=limit), None)
    # A check that overran keeps its thread until its own request timeout
    # ends it; do not wait for it here.
    pool.shutdown(wait=False, cancel_futures=True)
    return checked


def _check_one(settings, platforms_config, platform, now):
    """(PreflightResult, fingerprint) for one platform; never raises."""
    started = time.monotonic()
    try:
        result, fingerprint = _decide(settings, platforms_config, platform,
                                      now)
    except Exception as exc:  # a bug in a connector must not end the run
        logger.exception("%s: preflight failed unexpectedly", platform)
        result, fingerprint = PreflightResult(
            platform, False, PLATFORM_ERROR,
            f"internal error in the connector ({type(exc).__name__}); "
            "see the log"), None
    if not result.seconds:
        result.seconds = time.monotonic() - started
    return result, fingerprint


def _decide(settings, platforms_config, platform, now):
    from marketing_ops.platforms.base import get_connector

    if not settings.enabled.get(platform, False):
        return _fail(platform, "Disabled"), DISABLED_FINGERPRINT

    request_timeout = min(
        float(platforms_config.get("request_timeout_seconds",
                                   DEFAULT_REQUEST_TIMEOUT)),
        preflight_timeout(platforms_config, platform))
    connector = get_connector(platform, settings, platforms_config,
                              timeout=request_timeout)
    fingerprint = connector.credential_fingerprint()
    if not connector.credential_names:
        return connector.preflight(), fingerprint

    missing = connector.missing_credentials()
    if missing:
        if len(missing) == len(connector.credential_names):
            return _fail(platform, "No credentials"), fingerprint
        return _fail(platform, "Missing credentials: " +
                     ", ".join(missing)), fingerprint

    breaker = circuit.read_breaker(settings, platform)
    if breaker and breaker.cooling_down(now) and (
            breaker.corrupt or breaker.fingerprint == fingerprint):
        return _skipped(breaker, now), fingerprint

    return connector.preflight(), fingerprint


def _fail(platform: str, detail: str) -> PreflightResult:
    return PreflightResult(platform, False, UNSUPPORTED_AUTH, detail)


def _skipped(breaker: circuit.Breaker, now) -> PreflightResult:
    if breaker.corrupt:
        detail = (f"circuit breaker lock unreadable ({breaker.corrupt}); "
                  "not called — run: marketing-ops circuit reset "
                  f"{breaker.platform}")
        code = PLATFORM_ERROR
    else:
        detail = (f"{breaker.detail} (circuit breaker open until "
                  f"{circuit.iso(breaker.cooldown_until)}; not called)")
        code = breaker.reason_code
    return PreflightResult(breaker.platform, False, code, detail,
                           skipped=True)


# -- recording and breakers ------------------------------------------------

def _record(settings, ledger, platforms_config, result, fingerprint, now):
    if result.ok:
        action, status = "PREFLIGHT_PASSED", "success"
    elif result.skipped:
        action, status = "PREFLIGHT_SKIPPED", "blocked"
    else:
        action, status = "PREFLIGHT_FAILED", "failed"
    ledger.record(action=action, status=status, platform=result.platform,
                  reason_code=result.reason_code, message=result.line(),
                  details=result.as_dict())

    if result.ok:
        circuit.close_breaker(settings, ledger, result.platform,
                              result.detail)
        return
    if result.skipped:
        return

    breaker = circuit.read_breaker(settings, result.platform)
    unchanged = (breaker is not None and not breaker.corrupt
                 and breaker.reason_code == result.reason_code
                 and breaker.detail == result.detail
                 and breaker.fingerprint == fingerprint
                 and breaker.cooling_down(now))
    if not unchanged:
        circuit.open_breaker(settings, ledger, result.platform,
                             result.reason_code or PLATFORM_ERROR,
                             result.detail, fingerprint,
                             platforms_config=platforms_config, now=now)


# -- configuration -----------------------------------------------------------

def _platforms_section(config) -> Mapping[str, Any]:
    """Accept the Config object or the platforms.yaml mapping itself."""
    section = getattr(config, "platforms", config)
    return section or {}


def preflight_timeout(platforms_config, platform: str) -> float:
    own = ((platforms_config.get("platforms") or {}).get(platform) or {}) \
        .get("preflight_timeout_seconds")
    if own is not None:
        return float(own)
    return float(platforms_config.get("preflight_timeout_seconds",
                                      DEFAULT_PREFLIGHT_TIMEOUT))


# -- the command ---------------------------------------------------------------

def summary(results: list[PreflightResult]) -> dict[str, Any]:
    failed = [r for r in results if not r.ok]
    return {"checked": len(results),
            "valid": len(results) - len(failed),
            "breakers_open": dict(sorted(Counter(
                r.reason_code or "UNKNOWN" for r in failed).items()))}


def format_text(results: list[PreflightResult]) -> str:
    totals = summary(results)
    counts = totals["breakers_open"]
    opened = sum(counts.values())
    line = f"Circuit breakers opened: {opened}"
    if len(counts) == 1:
        line += f" (all {next(iter(counts))})"
    elif counts:
        line += " (" + ", ".join(f"{code}: {n}" for code, n in
                                 counts.items()) + ")"
    lines = [f"Platforms checked: {totals['checked']}",
             f"Platforms valid: {totals['valid']}", line]
    lines += [r.line() for r in results]
    return "\n".join(lines)


def exit_code(settings, results: list[PreflightResult]) -> int:
    """0 when every enabled platform passed, 1 otherwise."""
    enabled = [r for r in results if settings.enabled.get(r.platform)]
    return 0 if all(r.ok for r in enabled) else 1


def command(args) -> int:
    """``marketing-ops preflight [--json]``."""
    from marketing_ops.config.settings import load_settings
    from marketing_ops.config.yamlfile import load_yaml
    from marketing_ops.moltbook import new_run_id, open_ledger
    from marketing_ops.redact import redact

    settings = load_settings(args.config_dir, args.state_dir)
    platforms_config = load_yaml(settings.config_dir / "platforms.yaml",
                                 "platforms")
    with open_ledger(settings, agent="preflight",
                     run_id=new_run_id()) as ledger:
        results = run_preflight(settings, platforms_config, ledger)

    code = exit_code(settings, results)
    if getattr(args, "json", False):
        document = summary(results)
        document["results"] = [r.as_dict() for r in results]
        document["exit_code"] = code
        text = json.dumps(document, indent=2, sort_keys=True)
    else:
        text = format_text(results)
    # Connectors keep secrets out of details; this is the second belt.
    print(redact(text, settings.secret_values()))
    return code

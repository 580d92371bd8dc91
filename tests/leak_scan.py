"""Searching what a run leaves behind (logs, run metadata, dbt's files, sync logs) for secrets
and personal data that must never be there."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from omni360.settings import PROJECT_ROOT
from reverse_etl.emulator import Credentials

# The emulator's credentials are the fake secrets a demo run is given; the OneSignal app id is
# not a secret (it is part of the API's URLs).
FAKE_SECRETS = tuple(v for k, v in asdict(Credentials()).items() if k != "onesignal_app_id")


def personal_forms(emails: set[str], phones: set[str]) -> set[str]:
    """Every form an address may be written in: e-mails as given, phones in E.164, as digits and
    in the national format."""
    forms = set(emails)
    for phone in phones:
        forms |= {phone, phone.lstrip("+")}
        if phone.startswith("+380"):
            forms.add("0" + phone[4:])
    return forms


def files_mentioning(roots: list[Path], needles: set[str], skip: set[Path]) -> dict[str, list[str]]:
    """Files under `roots` (not under `skip`) containing any needle, case-insensitively, as
    bytes: text logs, JSON, SQLite run storage alike."""
    lowered = [(needle, needle.lower().encode()) for needle in needles if needle]
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if any(path == s or s in path.parents for s in skip):
                continue
            content = path.read_bytes().lower()
            hits = [needle for needle, raw in lowered if raw in content]
            if hits:
                found[str(path)] = hits
    return found


def dbt_run_folders(run_id: str) -> list[Path]:
    """The dbt target folders dagster-dbt made for the run (dbt.log, run results, compiled SQL)."""
    return sorted((PROJECT_ROOT / "target").glob(f"*-{run_id[:7]}-*"))

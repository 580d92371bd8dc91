"""Where the syncs deliver: the real providers, the bundled local emulator, or nowhere.

- `live`: every address and secret comes from the environment variables the syncs name.
- `emulator` (the demo's default): a local channel emulator starts on 127.0.0.1 and those
  variables are pointed at it, with its demo credentials, for as long as the block runs; the
  file export writes under the given folder. Nothing leaves the machine.
- `none`: no sync runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from reverse_etl.config import SyncSpec
from reverse_etl.emulator import PROVIDERS, Credentials, RunningEmulator, start_emulator


class ChannelMode(StrEnum):
    EMULATOR = "emulator"
    LIVE = "live"
    NONE = "none"


# The emulator's credential for each secret setting of a destination kind.
EMULATED_SECRETS: dict[str, dict[str, str]] = {
    "webhook": {"signing_secret_env": "webhook_secret"},
    "braze": {"api_key_env": "braze_api_key"},
    "klaviyo": {"api_key_env": "klaviyo_api_key"},
    "onesignal": {"api_key_env": "onesignal_api_key"},
    "telegram": {"bot_token_env": "telegram_bot_token"},
    "twilio": {"account_sid_env": "twilio_account_sid", "auth_token_env": "twilio_auth_token"},
}


def emulated_credentials(syncs: Sequence[SyncSpec]) -> Credentials:
    """The demo credentials, with the OneSignal app the syncs name (it is in their URLs)."""
    app_ids = {
        str(spec.destination["app_id"])
        for spec in syncs
        if spec.destination_kind == "onesignal" and "app_id" in spec.destination
    }
    if len(app_ids) > 1:
        raise ValueError(f"the emulator serves one OneSignal app; the syncs name {len(app_ids)}")
    return Credentials(onesignal_app_id=app_ids.pop()) if app_ids else Credentials()


def emulated_environment(
    syncs: Sequence[SyncSpec], emulator: RunningEmulator, export_dir: Path
) -> dict[str, str]:
    """The environment variables the syncs read, pointed at the emulator."""
    environment: dict[str, str] = {}
    for spec in syncs:
        destination: Mapping[str, Any] = spec.destination
        kind = spec.destination_kind
        if kind in PROVIDERS and destination.get("base_url_env"):
            environment[str(destination["base_url_env"])] = emulator.base_url(kind)
        for setting, credential in EMULATED_SECRETS.get(kind, {}).items():
            if destination.get(setting):
                environment[str(destination[setting])] = getattr(emulator.credentials, credential)
        if destination.get("directory_env"):
            environment[str(destination["directory_env"])] = str(export_dir)
    return environment


@contextmanager
def patched_environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def channels(
    mode: ChannelMode, syncs: Sequence[SyncSpec], export_dir: Path
) -> Iterator[RunningEmulator | None]:
    """Run the block with the syncs' channels set up for `mode` (the emulator, if any, is
    yielded and stopped afterwards)."""
    if mode is not ChannelMode.EMULATOR:
        yield None
        return
    with start_emulator(credentials=emulated_credentials(syncs)) as emulator:
        environment = emulated_environment(syncs, emulator, export_dir)
        with patched_environment(environment):
            yield emulator


def delivered_summary(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """What each emulated provider holds now, and how its traffic went."""
    rows = []
    for provider in PROVIDERS:
        stats = emulator.stats(provider)
        if not stats["requests"]:
            continue
        rows.append(
            {
                "provider": provider,
                "requests": stats["requests"],
                "records": stats["records"],
                "messages": stats["messages"],
                "applied": stats["records_applied"],
                "deletes": stats["deletes"],
                "duplicates": stats["duplicate_applications"],
                "rejected": stats["rejections"],
                "throttled": stats["rate_limited"] + stats["injected_429"],
            }
        )
    return rows


def save_emulator_state(emulator: RunningEmulator, folder: Path) -> list[Path]:
    """Write what every emulated provider received to `<folder>/<provider>.json` (the demo
    keeps it so a newcomer can open it)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for provider in PROVIDERS:
        stats = emulator.stats(provider)
        if not stats["requests"]:
            continue
        content = {
            "stats": stats,
            "records": emulator.records(provider),
            "messages": emulator.messages(provider),
        }
        path = folder / f"{provider}.json"
        path.write_text(json.dumps(content, indent=1, sort_keys=True, default=str))
        written.append(path)
    return written

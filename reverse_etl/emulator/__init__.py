"""A local emulator of the six HTTP channel providers, for tests and benchmarks.

```python
with start_emulator(faults={"seed": 7, "error_rate": 0.05}) as emulator:
    settings = emulator.destination_settings("braze")   # kind, base_url, api_key_env
    os.environ.update(emulator.environment())           # the demo secrets those name
    ...                                                 # run a sync against it
    emulator.stats("braze")["records_applied"]
```
Or standalone, for another process: `python -m reverse_etl.emulator --port 8765` and the
control endpoints (`EmulatorClient`). See `server.py` for the routes and `state.py` for what
the counters mean.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from reverse_etl.emulator.client import EmulatorClient
from reverse_etl.emulator.faults import FaultPlan
from reverse_etl.emulator.providers import PROVIDERS, Credentials, Options
from reverse_etl.emulator.server import DEFAULT_LIMITS, Emulator, make_server

# Environment variables `destination_settings` names for the secrets (`environment` sets them).
ENV = {
    "webhook": {"signing_secret_env": "OMNI360_EMULATOR_WEBHOOK_SECRET"},
    "braze": {"api_key_env": "OMNI360_EMULATOR_BRAZE_API_KEY"},
    "klaviyo": {"api_key_env": "OMNI360_EMULATOR_KLAVIYO_API_KEY"},
    "onesignal": {"api_key_env": "OMNI360_EMULATOR_ONESIGNAL_API_KEY"},
    "telegram": {"bot_token_env": "OMNI360_EMULATOR_TELEGRAM_BOT_TOKEN"},
    "twilio": {
        "account_sid_env": "OMNI360_EMULATOR_TWILIO_ACCOUNT_SID",
        "auth_token_env": "OMNI360_EMULATOR_TWILIO_AUTH_TOKEN",
    },
}


class RunningEmulator:
    """An emulator serving on a background thread; a context manager that stops it."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        self.emulator = emulator
        self._server = make_server(host, port, emulator)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    # -- addresses and settings -----------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        return self.emulator.credentials

    def base_url(self, provider: str) -> str:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
        return f"{self.url}/{provider}"

    def environment(self) -> dict[str, str]:
        """The environment variables `destination_settings` names, set to the credentials."""
        c = self.credentials
        values = {
            "OMNI360_EMULATOR_WEBHOOK_SECRET": c.webhook_secret,
            "OMNI360_EMULATOR_BRAZE_API_KEY": c.braze_api_key,
            "OMNI360_EMULATOR_KLAVIYO_API_KEY": c.klaviyo_api_key,
            "OMNI360_EMULATOR_ONESIGNAL_API_KEY": c.onesignal_api_key,
            "OMNI360_EMULATOR_TELEGRAM_BOT_TOKEN": c.telegram_bot_token,
            "OMNI360_EMULATOR_TWILIO_ACCOUNT_SID": c.twilio_account_sid,
            "OMNI360_EMULATOR_TWILIO_AUTH_TOKEN": c.twilio_auth_token,
        }
        return values

    def destination_settings(self, provider: str, **extra: Any) -> dict[str, Any]:
        """`destination:` settings of a sync pointed at this emulator (secrets by env name)."""
        settings: dict[str, Any] = {"kind": provider, "base_url": self.base_url(provider)}
        settings.update(ENV[provider])
        if provider == "klaviyo":
            settings["list_id"] = "EMULIST"
        elif provider == "onesignal":
            settings["app_id"] = self.credentials.onesignal_app_id
        elif provider == "telegram":
            settings["text_template"] = "Hi {first_name}, this is a message from omni360."
        elif provider == "twilio":
            settings["from_number"] = "+15005550006"
            settings["body_template"] = "Hi {first_name}, this is a message from omni360."
        settings.update(extra)
        return settings

    # -- state ----------------------------------------------------------------------------

    def stats(self, provider: str | None = None) -> dict[str, Any]:
        """Counters of one provider, or everything `GET /_emulator/stats` answers."""
        if provider is not None:
            return self.emulator.states[provider].stats()
        return self.emulator.stats()

    def records(self, provider: str) -> dict[str, Any]:
        """The provider's current records by key (copies; digests as hex in compact mode)."""
        state = self.emulator.states[provider]
        return state.snapshot(0, None)["records"] if state.records else {}

    def messages(self, provider: str) -> dict[str, Any]:
        """Recipient -> texts sent (telegram, twilio); a count per recipient in compact mode."""
        state = self.emulator.states[provider]
        with state.lock:
            return {k: v if isinstance(v, int) else list(v) for k, v in state.messages.items()}

    def list_members(self, list_id: str) -> set[str]:
        """Keys of the Klaviyo list's members."""
        state = self.emulator.states["klaviyo"]
        with state.lock:
            return set(state.lists.get(list_id, set()))

    # -- control --------------------------------------------------------------------------

    def set_faults(self, faults: FaultPlan | Mapping[str, Any] | None) -> FaultPlan:
        plan = faults if isinstance(faults, FaultPlan) else FaultPlan.from_mapping(faults)
        self.emulator.faults.replace(plan)
        return plan

    def set_limits(self, limits: Mapping[str, Any]) -> None:
        self.emulator.set_limits(limits)

    def reset(self, faults: bool = False) -> None:
        self.emulator.reset(faults=faults)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.emulator.stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultPlan | Mapping[str, Any] | None = None,
    credentials: Credentials | Mapping[str, str] | None = None,
    *,
    compact: bool = False,
    limits: Mapping[str, Any] | None = None,
    webhook_dedupe: bool = True,
    webhook_max_records: int = 10_000,
    blocked_chats: Iterable[str] = (),
    unsubscribed: Iterable[str] = (),
    reject_keys: Iterable[str] = (),
) -> RunningEmulator:
    """Start an emulator on `host:port` (0: a free port) in a background thread.

    `faults`: a FaultPlan (or its fields as a mapping). `credentials`: what the providers
    accept (demo defaults). `compact`: keep digests, not payloads (benchmarks). `limits`:
    rate limits per provider, `{"braze": [(3000, 3.0)]}`, over `DEFAULT_LIMITS`.
    `webhook_dedupe`: the webhook receiver drops records whose idempotency key it applied.
    `blocked_chats` (telegram 403), `unsubscribed` (twilio 21610) and `reject_keys` (webhook
    per-record refusals) plant per-record errors.
    """
    if not isinstance(credentials, Credentials):
        credentials = Credentials.from_mapping(credentials)
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.from_mapping(faults)
    options = Options(
        compact=compact,
        webhook_dedupe=webhook_dedupe,
        webhook_max_records=webhook_max_records,
        blocked_chats={str(c) for c in blocked_chats},
        unsubscribed={str(n) for n in unsubscribed},
        reject_keys={str(k) for k in reject_keys},
    )
    return RunningEmulator(Emulator(credentials, options, plan, limits), host, port)


__all__ = [
    "DEFAULT_LIMITS",
    "PROVIDERS",
    "Credentials",
    "EmulatorClient",
    "FaultPlan",
    "RunningEmulator",
    "start_emulator",
]

"""Destinations: the providers a sync can deliver to, by `kind`.

```python
destination = build_destination({"kind": "braze", "api_key_env": "BRAZE_API_KEY"})
```
Each kind's contract, fields, limits and delivery semantics: docs/destinations.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reverse_etl.destinations.base import ConfigurationError, Destination
from reverse_etl.destinations.braze import BrazeDestination
from reverse_etl.destinations.file_export import FileExportDestination
from reverse_etl.destinations.klaviyo import KlaviyoDestination
from reverse_etl.destinations.onesignal import OneSignalDestination
from reverse_etl.destinations.telegram import TelegramDestination
from reverse_etl.destinations.twilio import TwilioDestination
from reverse_etl.destinations.webhook import WebhookDestination

DESTINATIONS: dict[str, type[Destination]] = {
    cls.kind: cls
    for cls in (
        WebhookDestination,
        BrazeDestination,
        KlaviyoDestination,
        OneSignalDestination,
        TelegramDestination,
        TwilioDestination,
        FileExportDestination,
    )
}


def build_destination(settings: Mapping[str, Any]) -> Destination:
    """The destination the settings' `kind` names, built from the settings (a missing secret
    or setting raises `ConfigurationError` naming it)."""
    kind = settings.get("kind")
    if not kind:
        raise ConfigurationError("setting 'kind' (the destination) is missing")
    try:
        cls = DESTINATIONS[str(kind)]
    except KeyError:
        raise ConfigurationError(
            f"unknown destination kind {kind!r} (known: {', '.join(sorted(DESTINATIONS))})"
        ) from None
    return cls(settings)


__all__ = ["DESTINATIONS", "build_destination"]

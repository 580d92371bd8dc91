"""The control endpoints from another process (a test driving an emulator it did not start,
or a benchmark reading counters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class EmulatorClient:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, f"{self.url}/_emulator/{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def state(
        self, provider: str | None = None, offset: int = 0, limit: int = 1000
    ) -> dict[str, Any]:
        if provider is None:
            return self._call("GET", "state")
        params = {"provider": provider, "offset": offset, "limit": limit}
        return self._call("GET", "state", params=params)

    def set_faults(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "faults", json=dict(plan))

    def set_limits(self, limits: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "limits", json=dict(limits))

    def reset(self, faults: bool = False) -> None:
        self._call("POST", "reset", json={"faults": faults})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

"""What the emulator remembers per provider: current records, messages, and counters.

A record is applied under its key (external id, profile, webhook key). Counters tell what
happened:

- `requests`, `records_received`, `records_applied` (upserts, deletes and messages applied),
  `deletes`, `rejections` (records refused by provider rules), `auth_failures`,
  `bad_requests` (malformed payloads, over-size batches), `rate_limited` (429s from the rate
  limit), `injected_429`, `injected_5xx`, `injected_timeouts_before`,
  `injected_timeouts_after`;
- `duplicate_applications`: a side effect applied twice. A message with the same recipient
  and text sent again (telegram, twilio), or a webhook record whose idempotency key was
  already applied when deduplication is off;
- `deduplicated`: webhook records dropped because their idempotency key was already applied
  (the receiver doing its job);
- `reapplied_identical`: an upsert carrying exactly what its key already holds (harmless for
  the profile providers, which are idempotent, but it shows a re-send);
- `erasure_requests`: "right to be forgotten" requests accepted (Braze `/users/delete`,
  Klaviyo deletion jobs, webhook `erase`), and `records_erased`: the records they removed
  (a record erased is not counted in `records_applied` or `deletes`).

In compact mode (for benchmarks of millions of records) a record is kept as a 64-bit digest
of its payload and a message as a count per recipient: 5,000,000 webhook records (keys and
idempotency keys) take about 1 GB.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import Counter
from typing import Any

COUNTERS = (
    "requests",
    "records_received",
    "records_applied",
    "deletes",
    "duplicate_applications",
    "deduplicated",
    "reapplied_identical",
    "rejections",
    "auth_failures",
    "bad_requests",
    "rate_limited",
    "injected_429",
    "injected_5xx",
    "injected_timeouts_before",
    "injected_timeouts_after",
    "erasure_requests",
    "records_erased",
)


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def digest(payload: Any) -> int:
    """A stable 64-bit digest of a JSON-able payload (key order does not matter)."""
    data = _CANONICAL.encode(payload).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class ProviderState:
    def __init__(self, name: str, compact: bool) -> None:
        self.name = name
        self.compact = compact
        self.lock = threading.RLock()
        self.counters: Counter[str] = Counter()
        self.records: dict[str, Any] = {}  # key -> payload (compact: digest)
        self._digests: dict[str, int] = {}  # key -> digest of what was last applied (full mode)
        self.seen: set[Any] = set()  # idempotency keys or message digests already applied
        self.messages: dict[str, Any] = {}  # recipient -> [texts] (compact: count)
        self.lists: dict[str, set[str]] = {}  # list id -> member keys (klaviyo)
        self.profile_ids: dict[str, str] = {}  # provider id -> key (klaviyo)

    def count(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counters[name] += amount

    # Callers hold `lock` around the methods below (one lock per request keeps them fast).

    def upsert(self, key: str, payload: dict, merge: bool = False) -> None:
        """Apply `payload` under `key` (merged into what is there when `merge`)."""
        value = digest(payload)
        previous = self.records.get(key) if self.compact else self._digests.get(key)
        if previous == value:
            self.counters["reapplied_identical"] += 1
        if self.compact:
            self.records[key] = value
        else:
            current = self.records.get(key)
            if merge and isinstance(current, dict):
                current.update(payload)
            else:
                self.records[key] = dict(payload)
            self._digests[key] = value
        self.counters["records_applied"] += 1

    def delete(self, key: str) -> None:
        self.records.pop(key, None)
        self._digests.pop(key, None)
        self.counters["records_applied"] += 1
        self.counters["deletes"] += 1

    def erase(self, key: str) -> bool:
        """Forget everything held under `key`: the record, its list memberships, its provider
        ids. False when nothing was held."""
        held = key in self.records
        self.records.pop(key, None)
        self._digests.pop(key, None)
        for members in self.lists.values():
            held = key in members or held
            members.discard(key)
        for provider_id in [pid for pid, k in self.profile_ids.items() if k == key]:
            del self.profile_ids[provider_id]
        if held:
            self.counters["records_erased"] += 1
        return held

    def first_time(self, idempotency_key: str) -> bool:
        """Remember the key; False when it was applied before."""
        token: Any = digest(idempotency_key) if self.compact else idempotency_key
        if token in self.seen:
            return False
        self.seen.add(token)
        return True

    def message(self, recipient: str, text: str) -> None:
        """A message sent: the same recipient and text twice is a duplicate application."""
        token = digest([recipient, text])
        if token in self.seen:
            self.counters["duplicate_applications"] += 1
        else:
            self.seen.add(token)
        if self.compact:
            self.messages[recipient] = self.messages.get(recipient, 0) + 1
        else:
            self.messages.setdefault(recipient, []).append(text)
        self.counters["records_applied"] += 1

    def reset(self) -> None:
        with self.lock:
            self.counters.clear()
            self.records.clear()
            self._digests.clear()
            self.seen.clear()
            self.messages.clear()
            self.lists.clear()
            self.profile_ids.clear()

    def stats(self) -> dict[str, int]:
        with self.lock:
            stats = {name: self.counters.get(name, 0) for name in COUNTERS}
            stats["records"] = len(self.records)
            stats["recipients"] = len(self.messages)
            stats["messages"] = (
                sum(self.messages.values())
                if self.compact
                else sum(len(texts) for texts in self.messages.values())
            )
            return stats

    def snapshot(self, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
        """Records (or, for message providers, recipients and their messages), sorted by key
        and paginated; digests are shown as hex in compact mode."""
        with self.lock:
            source = self.messages if self.messages and not self.records else self.records
            keys = sorted(source)
            page = keys[offset : None if limit is None else offset + limit]
            if self.compact:
                hexed = source is self.records
                items = {key: f"{source[key]:016x}" if hexed else source[key] for key in page}
            else:
                items = copy.deepcopy({key: source[key] for key in page})
            return {
                "provider": self.name,
                "kind": "messages" if source is self.messages else "records",
                "total": len(keys),
                "offset": offset,
                "records": items,
                "lists": {name: sorted(members) for name, members in self.lists.items()}
                if not self.compact
                else {name: len(members) for name, members in self.lists.items()},
            }

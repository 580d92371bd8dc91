"""Sending requests politely: a rate limit, 429 + Retry-After, backoff with jitter.

Every request of a destination goes through one `Sender`. It waits for a slot of the
destination's rate limit (at most `requests` in any `per_seconds` window), sends, and:
- on 429 pauses *every* request of the destination for the provider's Retry-After (seconds or
  an HTTP date; without one, the backoff), then tries again;
- on 5xx, a timeout or a broken connection backs off exponentially with full jitter and tries
  again, except that a request which went out and got no answer is not sent again to a
  destination that is not idempotent: it raises `DeliveryInDoubt` (it may have arrived);
- returns any other answer (2xx, other 4xx) to the destination to read;
- raises `DeliveryFailed` when the attempts are spent (the records are retried next run).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import deque
from dataclasses import dataclass

import httpx

from reverse_etl.config import RetryPolicy
from reverse_etl.destinations.base import DeliveryFailed, DeliveryInDoubt, Limits

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
# Failures that happen before the request leaves: always safe to send again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RateLimiter:
    """At most `requests` request starts in any window of `per_seconds` (a sliding log), and
    a shared pause that a 429's Retry-After sets for everyone."""

    def __init__(self, requests: int, per_seconds: float) -> None:
        self.requests = requests
        self.per_seconds = per_seconds
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                while self._starts and now - self._starts[0] >= self.per_seconds:
                    self._starts.popleft()
                if len(self._starts) < self.requests:
                    self._starts.append(now)
                    return
                await asyncio.sleep(self.per_seconds - (now - self._starts[0]))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The wait a 429 asks for: the Retry-After header (seconds or an HTTP date), else a
    `retry_after` the body carries (Telegram's `parameters.retry_after`)."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            when = email.utils.parsedate_to_datetime(header)
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        parameters = body.get("parameters")
        if isinstance(parameters, dict) and "retry_after" in parameters:
            return float(parameters["retry_after"])
    return None


@dataclass
class DeliveryStats:
    requests: int = 0
    throttled: int = 0  # 429 answers
    retries: int = 0  # requests sent again after a 429, a 5xx or a timeout


class Sender:
    """The `send` callable handed to destinations."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        limits: Limits,
        policy: RetryPolicy,
        concurrency: int | None = None,
        rng: random.Random | None = None,
        resend_unanswered: bool = True,
    ) -> None:
        self.client = client
        self.resend_unanswered = resend_unanswered
        self.policy = policy
        self.limiter = RateLimiter(limits.requests, limits.per_seconds)
        width = min(concurrency or limits.concurrency, limits.concurrency)
        self.in_flight = asyncio.Semaphore(max(1, width))
        self.stats = DeliveryStats()
        self.rng = rng or random.Random()

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2**attempt)
        return self.rng.uniform(0, ceiling)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        last_problem = "no attempt made"
        for attempt in range(self.policy.max_attempts):
            if attempt:
                self.stats.retries += 1
            await self.limiter.acquire()
            self.stats.requests += 1
            try:
                async with self.in_flight:
                    response = await self.client.send(request)
                    await response.aread()
            except (httpx.TimeoutException, httpx.TransportError) as error:
                last_problem = f"{type(error).__name__} (no answer)"
                if not self.resend_unanswered and not isinstance(error, NOT_SENT):
                    raise DeliveryInDoubt(
                        f"in doubt: {last_problem}; it may have been delivered, so it is held "
                        "instead of sent again"
                    ) from None
                await asyncio.sleep(self.backoff(attempt))
                continue
            if response.status_code == 429:
                self.stats.throttled += 1
                wait = retry_after_seconds(response)
                if wait is not None and wait > self.policy.max_retry_after:
                    raise DeliveryFailed(f"throttled: Retry-After {wait:.0f} s is too long")
                self.limiter.pause(wait if wait is not None else self.backoff(attempt))
                last_problem = "429 Too Many Requests"
                continue
            if response.status_code in RETRYABLE_STATUS:
                last_problem = f"HTTP {response.status_code}"
                await asyncio.sleep(self.backoff(attempt))
                continue
            return response
        raise DeliveryFailed(f"gave up after {self.policy.max_attempts} attempts: {last_problem}")

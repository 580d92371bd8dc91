"""The marketing calendar: messaging blasts, always-on (triggered) campaigns and paid ads.

A campaign id doubles as the `utm_campaign` (`context.campaign.name` in events), so spend,
message events and the visits they bring can be joined. `context.campaign` source/medium per
channel are in `CHANNELS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omni360.contract import MESSAGE_CHANNELS
from omni360.generator.clock import DAY_MS, HOUR_MS, MINUTE_MS, Window, kyiv_offset_hours
from omni360.generator.randomness import stream

PAID_CHANNELS = ("google_ads", "meta_ads", "tiktok_ads")
ALL_CHANNELS = (*MESSAGE_CHANNELS, *PAID_CHANNELS)
# channel: (campaign id prefix, days between blasts or 0 for none, utm_source, utm_medium)
CHANNELS = {
    "email": ("em", 3.5, "esputnik", "email"),
    "sms": ("sms", 14, "sms", "sms"),
    "viber": ("vb", 7, "viber", "messenger"),
    "telegram": ("tg", 7, "telegram", "messenger"),
    "whatsapp": ("wa", 30, "whatsapp", "messenger"),
    "web_push": ("wp", 7, "webpush", "push"),
    "mobile_push": ("push", 3.5, "app_push", "push"),
    "app_inbox": ("inbox", 7, "app_inbox", "in_app"),
    "in_app": ("inapp", 0, "in_app", "in_app"),
    "google_ads": ("gads", 0, "google", "cpc"),
    "meta_ads": ("meta", 0, "facebook", "paid_social"),
    "tiktok_ads": ("tiktok", 0, "tiktok", "paid_social"),
}
THEMES = (
    "autumn_sale",
    "new_arrivals",
    "weekend_deals",
    "skincare_week",
    "loyalty_bonus",
    "home_care_days",
    "gift_ideas",
    "beauty_box",
    "flash_sale",
    "back_to_school",
)
ALWAYS_ON = (
    ("em_welcome", "email"),
    ("em_abandoned_cart", "email"),
    ("push_abandoned_cart", "mobile_push"),
    ("inapp_promo_banner", "in_app"),
    ("gads_brand_search", "google_ads"),
    ("gads_generic_search", "google_ads"),
    ("gads_pmax", "google_ads"),
    ("meta_prospecting", "meta_ads"),
    ("meta_retargeting", "meta_ads"),
    ("tiktok_awareness", "tiktok_ads"),
)
NONE = -1


@dataclass
class Campaigns:
    campaign_id: list[str]
    channel: np.ndarray  # index into ALL_CHANNELS
    send_at: np.ndarray  # ms of a blast; NONE for always-on campaigns
    first_day: np.ndarray  # first day an always-on campaign runs

    def named(self, name: str) -> int:
        return self.campaign_id.index(name)

    def of_channel(self, channel: str, blasts: bool) -> np.ndarray:
        code = ALL_CHANNELS.index(channel)
        mine = (self.channel == code) & ((self.send_at != NONE) == blasts)
        return np.flatnonzero(mine)

    def latest_blast(self, channel: str, at: np.ndarray, max_age_ms: int) -> np.ndarray:
        """Per instant, the channel's most recent blast sent before it (within max_age)."""
        blasts = self.of_channel(channel, blasts=True)
        blasts = blasts[np.argsort(self.send_at[blasts], kind="stable")]
        if not len(blasts):
            return np.full(len(at), NONE)
        sent = self.send_at[blasts]
        i = np.searchsorted(sent, at, side="right") - 1
        found = blasts[np.maximum(i, 0)]
        ok = (i >= 0) & (at - self.send_at[found] <= max_age_ms)
        return np.where(ok, found, NONE)


def plan_campaigns(window: Window, seed: int) -> Campaigns:
    rng = stream(seed, "campaigns")
    ids: list[str] = []
    channels: list[int] = []
    send_at: list[int] = []
    first_day: list[int] = []
    for channel, (prefix, every, _, _) in CHANNELS.items():
        if not every:
            continue
        day = rng.uniform(0, every)
        while day < window.days:
            d = int(day)
            local = (
                window.start_ms
                + d * DAY_MS
                + int(rng.integers(9, 19)) * HOUR_MS
                + int(rng.choice([0, 15, 30, 45])) * MINUTE_MS
            )
            at = local - int(kyiv_offset_hours(np.array([local]))[0]) * HOUR_MS
            theme = THEMES[int(rng.integers(len(THEMES)))]
            ids.append(f"{prefix}_{theme}_{window.date_text(d).replace('-', '')}")
            channels.append(ALL_CHANNELS.index(channel))
            send_at.append(at)
            first_day.append(d)
            day += every * rng.uniform(0.8, 1.2)
    for name, channel in ALWAYS_ON:
        ids.append(name)
        channels.append(ALL_CHANNELS.index(channel))
        send_at.append(NONE)
        first_day.append(int(window.days * 0.3) if channel == "tiktok_ads" else 0)
    return Campaigns(
        ids, np.array(channels), np.array(send_at, dtype=np.int64), np.array(first_day)
    )

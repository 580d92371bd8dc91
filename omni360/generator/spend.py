"""Marketing spend per day, channel and campaign.

Paid ads spend a daily budget (Google Ads in UAH; Meta and TikTok bill in USD). Messaging
spend is what the platforms charged for that day's messages of a campaign, so it adds up to
the costs in the message events; the e-mail platform's monthly fee has no campaign.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omni360.generator import vocab
from omni360.generator.campaigns import ALL_CHANNELS, NONE, Campaigns
from omni360.generator.clock import DAY_MS, Window, day_weights
from omni360.generator.frames import Frame
from omni360.generator.messaging import Messages
from omni360.generator.randomness import stream
from omni360.generator.textops import choose

# Daily budget in UAH per 1,000 customers, and billing currency, per paid campaign.
BUDGETS = {
    "gads_brand_search": (260, "UAH"),
    "gads_generic_search": (420, "UAH"),
    "gads_pmax": (380, "UAH"),
    "meta_prospecting": (300, "USD"),
    "meta_retargeting": (180, "USD"),
    "tiktok_awareness": (150, "USD"),
}
ESP_MONTHLY_FEE = 18_000  # UAH per month per 100,000 customers (at least 2,500)
CURRENCIES = ("UAH", "USD")


def spend_frame(
    campaigns: Campaigns, messages: Messages, customers: int, window: Window, seed: int
) -> Frame:
    rng = stream(seed, "spend")
    days = np.arange(window.days)
    weight = day_weights(window)
    parts = []  # (day, channel, campaign or NONE, cents, currency)
    for name, (budget, currency) in BUDGETS.items():
        c = campaigns.named(name)
        active = days[days >= campaigns.first_day[c]]
        uah = budget * customers / 1000 * weight[active] * rng.lognormal(0, 0.15, len(active))
        cents = np.round(uah / vocab.UAH_PER[currency] * 100).astype(np.int64)
        parts.append(
            (
                active,
                np.full(len(active), campaigns.channel[c]),
                np.full(len(active), c),
                cents,
                np.full(len(active), CURRENCIES.index(currency)),
            )
        )

    billed = messages.event_cost > 0
    day = window.day_of(messages.event_at[billed])
    campaign = messages.campaign[messages.event_message[billed]]
    key = campaign * window.days + day
    keys, inverse = np.unique(key, return_inverse=True)
    cost = np.bincount(inverse, weights=messages.event_cost[billed], minlength=len(keys))
    cents = np.round(cost / 100).astype(np.int64)
    spent = cents > 0
    camp, d = np.divmod(keys[spent], window.days)
    parts.append((d, campaigns.channel[camp], camp, cents[spent], np.zeros(int(spent.sum()))))

    firsts = [d for d in days if window.date_text(d).endswith("-01")]
    fee = max(2_500, ESP_MONTHLY_FEE * customers // 100_000) * 100
    parts.append(
        (
            np.array(firsts, dtype=np.int64),
            np.full(len(firsts), ALL_CHANNELS.index("email")),
            np.full(len(firsts), NONE),
            np.full(len(firsts), fee),
            np.zeros(len(firsts)),
        )
    )

    day, channel, campaign, cents, currency = (
        np.concatenate([p[i] for p in parts]) for i in range(5)
    )
    order = np.lexsort((campaign, channel, day))
    day = day[order]
    rows = pa.table(
        {
            "_ts": window.start_ms + day * DAY_MS,
            "channel": choose(ALL_CHANNELS, channel[order]),
            "campaign_id": choose(campaigns.campaign_id, campaign[order]),
            "spend": cents[order],
            "currency": choose(CURRENCIES, currency[order].astype(np.int64)),
        }
    )
    return Frame(
        "marketing_spend",
        rows,
        "strftime(epoch_ms(_ts), '%Y-%m-%d') as date, "
        "channel, campaign_id, money(spend) as spend, currency",
    )

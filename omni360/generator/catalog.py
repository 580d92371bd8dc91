"""Products and stores, and their catalogue files (full snapshots, re-exported on change)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omni360.generator import vocab
from omni360.generator.clock import DAY_MS, Window
from omni360.generator.frames import Frame
from omni360.generator.randomness import stream
from omni360.generator.textops import concat, digits, unique_ints

PRODUCTS_PER_CATEGORY = 60


@dataclass
class Catalog:
    product_id: pa.Array
    name: pa.Array
    category: pa.Array
    brand: pa.Array
    price: np.ndarray  # cents (UAH) at the start
    new_price: np.ndarray  # cents from `change_day` on
    launch_day: np.ndarray  # first day the product can be bought
    popularity: np.ndarray  # probability of being picked
    change_day: int
    store_id: pa.Array
    store_name: pa.Array
    store_city: pa.Array
    store_opening_day: np.ndarray

    @property
    def products(self) -> int:
        return len(self.price)

    @property
    def stores(self) -> int:
        return len(self.store_id)

    def price_at(self, product: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(day >= self.change_day, self.new_price[product], self.price[product])

    def pick(self, rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
        """A product per element, by popularity, among those launched by that day."""
        product = rng.choice(self.products, size=len(day), p=self.popularity)
        early = self.launch_day[product] > day
        while early.any():
            product[early] = rng.choice(self.products, size=int(early.sum()), p=self.popularity)
            early = self.launch_day[product] > day
        return product


def generate_catalog(window: Window, seed: int) -> Catalog:
    rng = stream(seed, "catalog")
    names, categories, brands, prices = [], [], [], []
    for category, (kinds, brand_list, (low, high), sizes) in vocab.CATALOG.items():
        combos = [(b, k, s) for b in brand_list for k in kinds for s in sizes]
        chosen = rng.choice(
            len(combos), size=min(PRODUCTS_PER_CATEGORY, len(combos)), replace=False
        )
        for i in np.sort(chosen):
            brand, kind, size = combos[i]
            names.append(f"{brand} {kind} {size}".strip())
            categories.append(category)
            brands.append(brand)
            uah = np.exp(rng.uniform(np.log(low), np.log(high)))
            prices.append(int(round(uah / 10) * 1000 - 10))  # 219.90 style
    n = len(names)
    price = np.array(prices, dtype=np.int64)
    change_day = min(max(1, int(window.days * 0.6)), window.days - 1)
    changed = rng.random(n) < 0.1
    new_price = np.where(
        changed, (price * rng.uniform(0.85, 1.15, n) / 100).round() * 100 - 10, price
    ).astype(np.int64)
    launch_day = np.where(rng.random(n) < 0.04, change_day, 0)
    rank = rng.permutation(n) + 1
    popularity = 1.0 / rank**0.9
    opening = np.zeros(len(vocab.STORES), dtype=np.int64)
    opening[-1] = min(max(1, int(window.days * 0.4)), window.days - 1)
    return Catalog(
        product_id=concat("SKU", digits(unique_ints(rng, n, 100_000, 1_000_000), 6)),
        name=pa.array(names),
        category=pa.array(categories),
        brand=pa.array(brands),
        price=price,
        new_price=new_price,
        launch_day=launch_day,
        popularity=popularity / popularity.sum(),
        change_day=change_day,
        store_id=concat("ST", digits(np.arange(1, len(vocab.STORES) + 1), 3)),
        store_name=pa.array([f"Lastivka {name}" for name, _ in vocab.STORES]),
        store_city=pa.array([city for _, city in vocab.STORES]),
        store_opening_day=opening,
    )


def _snapshots(day: np.ndarray, window: Window) -> pa.Table:
    return pa.table({"_ts": window.start_ms + day * DAY_MS, "_day": day})


def product_frame(catalog: Catalog, window: Window) -> Frame:
    """The full catalogue on day 0, and again on the day prices change and products launch.

    Unchanged products in the second snapshot are the same records again (duplicates).
    """
    n = catalog.products
    first = np.flatnonzero(catalog.launch_day == 0)
    second = np.arange(n)
    product = np.concatenate([first, second])
    day = np.concatenate([np.zeros(len(first), np.int64), np.full(n, catalog.change_day)])
    price = np.concatenate([catalog.price[first], catalog.new_price])
    same = (catalog.new_price == catalog.price) & (catalog.launch_day == 0)
    rec = np.concatenate([first, np.where(same, second, n + second)])
    rows = _snapshots(day, window).append_column("_rec", pa.array(rec))
    rows = rows.append_column("product_id", catalog.product_id.take(pa.array(product)))
    rows = rows.append_column("name", catalog.name.take(pa.array(product)))
    rows = rows.append_column("category", catalog.category.take(pa.array(product)))
    rows = rows.append_column("brand", catalog.brand.take(pa.array(product)))
    rows = rows.append_column("price", pa.array(price))
    return Frame("products", rows, "product_id, name, category, brand, money(price) as price")


def store_frame(catalog: Catalog, window: Window) -> Frame:
    """All open stores on day 0; the full list again when a new store opens."""
    n = catalog.stores
    first = np.flatnonzero(catalog.store_opening_day == 0)
    opening = int(catalog.store_opening_day.max())
    store = np.concatenate([first, np.arange(n)])
    day = np.concatenate([np.zeros(len(first), np.int64), np.full(n, opening)])
    rows = _snapshots(day, window).append_column("_rec", pa.array(store))
    for column, values in (
        ("store_id", catalog.store_id),
        ("name", catalog.store_name),
        ("city", catalog.store_city),
    ):
        rows = rows.append_column(column, values.take(pa.array(store)))
    return Frame("stores", rows, "store_id, name, city")

"""`generate`: people → what they do → source rows → files in the landing zone → ground truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from omni360.contract import SOURCES
from omni360.generator import corrupt, delivery, formats, truth
from omni360.generator.campaigns import plan_campaigns
from omni360.generator.catalog import generate_catalog, product_frame, store_frame
from omni360.generator.clock import Window
from omni360.generator.commerce import generate_orders, order_frames
from omni360.generator.consent import consent_frame, plan_consents
from omni360.generator.crm import crm_frame
from omni360.generator.frames import Frame
from omni360.generator.journeys import generate_journeys
from omni360.generator.messaging import generate_messages, message_event_frame
from omni360.generator.people import generate_people
from omni360.generator.randomness import stream
from omni360.generator.segment import event_frame
from omni360.generator.spend import spend_frame
from omni360.generator.support import generate_tickets, survey_frame, ticket_frames

Progress = Callable[[str, int, int], None]
PLANNING_STEPS = 5  # people and catalogue, orders, journeys, messages, support


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate` wrote."""

    landing_dir: Path
    truth_dir: Path
    files_written: dict[str, int]  # per source
    rows_written: dict[str, int]  # data rows per source, duplicates and broken rows included
    duplicates: dict[str, int] = field(default_factory=dict)  # expected, per file (if any)
    broken_rows: int = 0


class _Writer:
    """Plans and writes the files of each frame handed to it; remembers the plans."""

    def __init__(self, landing_dir: Path, window: Window, seed: int, report: Progress) -> None:
        self.landing_dir, self.window, self.seed, self.report = landing_dir, window, seed, report
        self.files: dict[str, list[delivery.PlannedFile]] = {}
        self.con = formats.connect(window)

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.con.close()

    def __call__(self, *frames: Frame) -> None:
        for frame in frames:
            planned = delivery.plan_files(
                frame, self.window, stream(self.seed, "files:" + frame.source)
            )
            delivery.write_files(
                frame,
                planned,
                self.landing_dir,
                self.con,
                _counter(self.report, f"writing {frame.source}", len(planned)),
            )
            self.files[frame.source] = planned


def _counter(report: Progress, step: str, total: int) -> Callable[[], None]:
    """A callback reporting one more of `total` done for `step` each time it is called."""
    done = iter(range(1, total + 1))
    return lambda: report(step, next(done), total)


def _check_dirs(landing_dir: Path, truth_dir: Path) -> None:
    if landing_dir.exists() and (not landing_dir.is_dir() or any(landing_dir.iterdir())):
        raise ValueError(f"landing zone {landing_dir} must not exist or be empty")
    landing, kept = landing_dir.resolve(), truth_dir.resolve()
    if kept == landing or landing in kept.parents:
        raise ValueError(f"truth folder {truth_dir} must be outside the landing zone")
    if kept.exists() and not kept.is_dir():
        raise ValueError(f"truth folder {truth_dir} is not a folder")


def generate(
    landing_dir: Path,
    truth_dir: Path,
    *,
    customers: int,
    seed: int = 42,
    end_date: date = date(2026, 10, 31),
    days: int = 120,
    broken_rows: int = 0,
    on_progress: Progress | None = None,
) -> GenerationSummary:
    """Write a deterministic demo landing zone for `customers` people, and its ground truth.

    Same arguments, byte-identical files. Raises ValueError when the landing zone is not
    empty or the truth folder lies inside it, or for out-of-range arguments.
    """
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    if customers < 1 or days < 1 or broken_rows < 0 or seed < 0:
        raise ValueError("customers and days must be positive, seed and broken_rows >= 0")
    _check_dirs(landing_dir, truth_dir)
    report = on_progress or (lambda step, done, total: None)
    window = Window(end_date, days)
    planned = _counter(report, "planning", PLANNING_STEPS)
    people = generate_people(customers, window, seed)
    catalog = generate_catalog(window, seed)
    consents = plan_consents(people, window, seed)
    campaigns = plan_campaigns(window, seed)
    planned()
    orders = generate_orders(people, catalog, window, seed)
    planned()
    journeys = generate_journeys(people, catalog, orders, campaigns, consents, window, seed)
    planned()
    messages = generate_messages(people, consents, campaigns, journeys, window, seed)
    planned()
    tickets = generate_tickets(people, orders, window, seed)
    planned()

    # Each source's rows are built, cut into files and written in turn, then dropped.
    with _Writer(landing_dir, window, seed, report) as deliver:
        deliver(event_frame(journeys, people, catalog, orders, campaigns, messages, window, seed))
        del journeys
        deliver(message_event_frame(messages, people, campaigns, window, seed))
        deliver(spend_frame(campaigns, messages, customers, window, seed))
        del messages
        deliver(*order_frames(orders, people, catalog))
        deliver(survey_frame(people, orders, tickets, window, seed))
        deliver(*ticket_frames(tickets, people, seed))
        deliver(crm_frame(people, window, seed))
        deliver(consent_frame(consents, people, window, seed))
        deliver(product_frame(catalog, window))
        deliver(store_frame(catalog, window))
    files = {name: deliver.files[name] for name in SOURCES}
    broken = corrupt.inject(landing_dir, files, broken_rows, stream(seed, "broken"))
    truth.write_truth(truth_dir, people, orders, files, broken)
    report("ground truth", 1, 1)

    extra = {}
    for b in broken:
        extra[b.source] = extra.get(b.source, 0) + 1
    return GenerationSummary(
        landing_dir=landing_dir,
        truth_dir=truth_dir,
        files_written={s: len(fs) for s, fs in files.items()},
        rows_written={s: sum(len(f.rows) for f in fs) + extra.get(s, 0) for s, fs in files.items()},
        duplicates={f.path: f.duplicates for fs in files.values() for f in fs if f.duplicates},
        broken_rows=len(broken),
    )

"""Contract-breaking rows, added to written files for testing the quarantine.

Each broken row is an extra line next to a real one, made from it with exactly one defect,
and is recorded with its file, line and reason class. Broken rows go only to plain CSV and
JSONL files that are not re-delivered copies (or copied) and have no extra column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omni360.generator.delivery import PlannedFile


@dataclass(frozen=True)
class Broken:
    source: str
    source_file: str
    source_line: int
    reason_class: str


def _set(column: str, value: str) -> Callable[[dict], dict]:
    def mutate(row: dict) -> dict:
        return {**row, column: value}

    return mutate


def _drop(*keys: str) -> Callable[[dict], dict]:
    def mutate(row: dict) -> dict:
        return {k: v for k, v in row.items() if k not in keys}

    return mutate


# (source, reason class, how a good record is broken); a string names damage to the line.
RECIPES: tuple[tuple[str, str, Callable[[dict], dict] | str], ...] = (
    ("events", "malformed_line", "truncate"),
    ("events", "missing_required", _drop("messageId")),
    ("events", "missing_required", _drop("timestamp")),
    ("events", "missing_required", _drop("anonymousId", "userId")),
    ("events", "bad_enum", _set("type", "alias")),
    ("events", "bad_timestamp", _set("timestamp", "2026-02-30T10:00:00Z")),
    ("orders", "malformed_line", "extra_field"),
    ("orders", "malformed_line", "missing_fields"),
    ("orders", "missing_required", _set("order_id", "")),
    ("orders", "bad_type", _set("total_amount", "12O.50")),
    ("orders", "bad_enum", _set("status", "shipped")),
    ("orders", "bad_enum", _set("channel", "pigeon")),
    ("orders", "bad_timestamp", _set("ordered_at", "2026-02-30T10:00:00Z")),
    ("order_items", "bad_type", _set("quantity", "two")),
    ("order_items", "missing_required", _set("product_id", "")),
    ("message_events", "bad_enum", _set("channel", "pigeon")),
    ("message_events", "bad_enum", _set("event_type", "read")),
    ("message_events", "bad_timestamp", _set("occurred_at", "2026-13-01 10:00:00")),
    ("message_events", "bad_type", _set("cost", "free")),
    ("consents", "bad_enum", _set("status", "maybe")),
    ("consents", "missing_required", _set("identifier", "")),
    ("survey_responses", "bad_type", _set("score", "ten")),
    ("survey_responses", "bad_enum", _set("survey_type", "rating")),
    ("support_interactions", "bad_enum", _set("direction", "sideways")),
    ("support_tickets", "bad_timestamp", _set("opened_at", "2026-10-32T10:00:00+03:00")),
    ("crm_contacts", "bad_timestamp", _set("updated_at", "2026-02-30 12:00:00")),
    ("marketing_spend", "bad_type", _set("spend", "1 200,50")),
    ("stores", "missing_required", _set("store_id", "")),
    ("orders", "malformed_line", "extra_field"),
    ("events", "malformed_line", "truncate"),
)


def _csv_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def _break_csv(header: list[str], line: str, how: Callable[[dict], dict] | str) -> str:
    fields = next(csv.reader([line]))
    if how == "extra_field":
        return _csv_line([*fields, "oops"])
    if how == "missing_fields":
        return _csv_line(fields[:-2])
    row = how(dict(zip(header, fields, strict=True)))
    return _csv_line([row[name] for name in header])


def _break_json(line: str, how: Callable[[dict], dict] | str, fresh_id: str) -> str:
    event = {**json.loads(line), "messageId": fresh_id}
    if how == "truncate":
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        return text[: len(text) * 3 // 5] + "\n"
    event = how(event)
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"


def _interleaved(recipes: list) -> list:
    """Recipes reordered to take one from each source in turn, so few rows cover many."""
    by_source: dict[str, list] = {}
    for recipe in recipes:
        by_source.setdefault(recipe[0], []).append(recipe)
    rounds = max((len(v) for v in by_source.values()), default=0)
    return [group[i] for i in range(rounds) for group in by_source.values() if i < len(group)]


def inject(
    landing_dir: Path,
    files: dict[str, list[PlannedFile]],
    count: int,
    rng: np.random.Generator,
) -> list[Broken]:
    """Add `count` broken rows; return where each one landed."""
    copied = {f.copy_of for fs in files.values() for f in fs if f.copy_of}
    eligible = {
        source: [
            f
            for f in fs
            if f.fmt in ("csv", "jsonl")
            and not f.gzip
            and not f.extra
            and not f.copy_of
            and f.path not in copied
            and len(f.rows)
        ]
        for source, fs in files.items()
    }
    recipes = _interleaved([r for r in RECIPES if eligible.get(r[0])])
    plan: dict[str, list[tuple[int, int, Callable[[dict], dict] | str, str]]] = {}
    for i in range(count if recipes else 0):
        source, reason, how = recipes[i % len(recipes)]
        target = eligible[source][int(rng.integers(len(eligible[source])))]
        position = int(rng.integers(0, len(target.rows) + 1))
        plan.setdefault(target.path, []).append((position, i, how, reason))
    broken = []
    for path in sorted(plan):
        source = path.split("/", 1)[0]
        file = landing_dir / path
        lines = [line + "\n" for line in file.read_text(encoding="utf-8").split("\n")[:-1]]
        header = 1 if source != "events" else 0
        names = next(csv.reader([lines[0]])) if header else []
        data = lines[header:]
        inserts = sorted(plan[path], key=lambda p: (p[0], p[1]))
        out = lines[:header]
        done = 0
        for k, (position, _, how, reason) in enumerate(inserts):
            out.extend(data[done:position])
            done = position
            neighbour = data[min(position, len(data) - 1)]
            if header:
                out.append(_break_csv(names, neighbour, how))
            else:
                fresh = "-".join(rng.bytes(n).hex() for n in (4, 2, 2, 2, 6))
                out.append(_break_json(neighbour, how, fresh))
            broken.append(Broken(source, path, header + position + k + 1, reason))
        out.extend(data[done:])
        file.write_text("".join(out), encoding="utf-8")
    return sorted(broken, key=lambda b: (b.source, b.source_file, b.source_line))

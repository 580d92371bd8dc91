"""Syncs declared in YAML: defaults, validation, and errors that name the setting."""

from pathlib import Path

import pytest

from reverse_etl.config import load_syncs, parse_sync
from reverse_etl.destinations.base import ConfigurationError, Mode

BASE = {
    "name": "email_vip",
    "source": "aud_vip",
    "destination": {"kind": "webhook"},
    "primary_key": "customer_id",
    "fields": {"id": "customer_id", "email": "address"},
}


def test_defaults_fill_what_a_sync_leaves_out() -> None:
    spec = parse_sync(BASE, {"schedule": "*/15 * * * *", "mode": "mirror", "batch_size": 500})
    assert spec.mode is Mode.MIRROR
    assert spec.schedule == "*/15 * * * *"
    assert spec.batch_size == 500
    assert spec.primary_key == ("customer_id",)
    assert spec.source_columns == {"customer_id", "address"}


def test_a_sync_overrides_the_defaults_and_takes_a_composite_key() -> None:
    spec = parse_sync(
        {**BASE, "mode": "insert", "primary_key": ["audience_name", "customer_id"]},
        {"mode": "mirror"},
    )
    assert spec.mode is Mode.INSERT
    assert spec.primary_key == ("audience_name", "customer_id")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name"}, "lower_snake_case"),
        ({"mode": "replace"}, "mode must be one of"),
        ({"source": "aud_vip; drop table x"}, "source"),
        ({"fields": {"email": "address; drop"}}, "column of field 'email'"),
        ({"primary_key": []}, "primary_key"),
        ({"destination": {"url": "x"}}, "destination.kind"),
        ({"batch_size": 0}, "batch_size"),
        ({"shedule": "0 * * * *"}, "unknown settings ['shedule']"),
        (
            {"destination": {"kind": "braze", "api_key": "abc123"}},
            "destination.api_key holds a secret in the file",
        ),
        ({"destination": {"kind": "telegram", "bot_token": "1:x"}}, "from the environment"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(change: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_sync({**BASE, **change})


def test_gate_and_cap_columns_are_part_of_what_the_sync_reads() -> None:
    spec = parse_sync(
        {
            **BASE,
            "consent_gate": {"channel": "channel", "address": "address"},
            "frequency_cap": {"messages": 2, "days": 7},
        }
    )
    assert spec.consent_gate is not None and spec.frequency_cap is not None
    assert spec.frequency_cap.messages == 2
    assert spec.source_columns == {"customer_id", "address", "channel"}


def test_duplicate_sync_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "syncs.yml"
    path.write_text(
        "syncs:\n"
        "  - {name: a, source: aud_vip, destination: {kind: webhook}, primary_key: id,"
        " fields: {id: id}}\n"
        "  - {name: a, source: aud_vip, destination: {kind: webhook}, primary_key: id,"
        " fields: {id: id}}\n"
    )
    with pytest.raises(ConfigurationError, match=r"duplicate sync names \['a'\]"):
        load_syncs(path)


def test_the_project_syncs_file_loads() -> None:
    syncs = load_syncs()
    assert syncs, "the project declares its syncs"
    assert len({spec.name for spec in syncs}) == len(syncs)

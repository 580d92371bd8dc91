"""Which identifiers the data gives any evidence for: seen in a record beside another one.

Read from the staging tables directly, with this module's own list of identifier columns, so
that the yardstick does not depend on the identity models it measures. Consents and message
events carry one identifier per row by contract and so never link two identifiers; they are
left out.
"""

from __future__ import annotations

import duckdb

STAGING_SCHEMA = "staging"

# Staging table -> {identifier type: column holding it}.
STAGING_IDENTIFIER_COLUMNS: dict[str, dict[str, str]] = {
    "stg_events": {
        "user_id": "user_id",
        "anonymous_id": "anonymous_id",
        "device_id": "device_id",
        "push_token": "push_token",
        "email": "email",
        "phone": "phone",
        "loyalty_card_id": "loyalty_card_id",
        "order_id": "order_id",
    },
    "stg_orders": {
        "order_id": "order_id",
        "user_id": "user_id",
        "email": "email",
        "phone": "phone",
        "loyalty_card_id": "loyalty_card_id",
    },
    "stg_crm_contacts": {
        "crm_contact_id": "contact_id",
        "user_id": "user_id",
        "email": "email",
        "phone": "phone",
        "loyalty_card_id": "loyalty_card_id",
        "telegram_id": "telegram_id",
        "viber_id": "viber_id",
    },
    "stg_support_tickets": {
        "user_id": "user_id",
        "email": "email",
        "phone": "phone",
        "telegram_id": "telegram_id",
    },
    "stg_survey_responses": {
        "user_id": "user_id",
        "email": "email",
        "phone": "phone",
    },
}


def _record_identifiers_sql(table: str, columns: dict[str, str]) -> str:
    """One row per (record, non-empty identifier) of one staging table."""
    picks = ",\n                ".join(
        f'cast("{column}" as varchar) as "{kind}"' for kind, column in columns.items()
    )
    kinds = ", ".join(f'"{kind}"' for kind in columns)
    return f"""
        select '{table}' as source_table, record_no, identifier_type, identifier
        from (
            select
                row_number() over () as record_no,
                {picks}
            from {STAGING_SCHEMA}.{table}
        ) unpivot (identifier for identifier_type in ({kinds}))
        where identifier <> ''
    """


def load_evidenced(con: duckdb.DuckDBPyConnection) -> None:
    """Create `eval_record_identifiers(source_table, record_no, identifier_type, identifier)`,
    one row per non-empty identifier of every staging record that can hold several, and
    `eval_evidenced(identifier_type, identifier)`: every identifier that occurs in at least
    one staging record together with at least one other identifier."""
    # Stored once: record numbers are only stable within one scan.
    record_identifiers = "\n        union all\n".join(
        _record_identifiers_sql(table, columns)
        for table, columns in STAGING_IDENTIFIER_COLUMNS.items()
    )
    con.execute(f"create or replace temp table eval_record_identifiers as {record_identifiers}")
    # Each column holds a different identifier type, so a record's rows are distinct
    # identifiers and counting rows counts identifiers.
    con.execute(
        """
        create or replace temp table eval_evidenced as
        with linking_records as (
            select source_table, record_no
            from eval_record_identifiers
            group by source_table, record_no
            having count(*) >= 2
        )
        select distinct records.identifier_type, records.identifier
        from eval_record_identifiers as records
        inner join linking_records using (source_table, record_no)
        """
    )

"""Deterministic demo data: a Ukrainian omnichannel retailer's landing zone and its truth.

`generate(landing_dir, truth_dir, customers=N)` writes every source of the landing-zone
contract (`omni360.contract`) for N people over `days` days ending on `end_date`: fragmented
identities, cross-channel journeys, campaigns, support, consents and the delivery quirks of
real exports (late files, overlapping and re-delivered files, mixed timestamp offsets,
Parquet and gzip, extra columns). Same arguments, byte-identical files.

Landing zone (one file per day, or per week for the small sources):
    events/web_YYYY-MM-DD.jsonl, events/app_YYYY-MM-DD.jsonl.gz
    orders/, order_items/, crm_contacts/ (first file .csv.gz), message_events/ (CSV, then
    Parquet), support_tickets/, support_interactions/, survey_responses/, consents/,
    marketing_spend/ as <source>_YYYY-MM-DD.csv; products/*.parquet and stores/*.csv as
    snapshots; `_late` files arrive after their day, `_resend` files repeat another file.
Ground truth (see `truth`): identities.parquet, shared_identifiers.parquet, orders.parquet,
expected_duplicates.csv, expected_quarantine.csv.

Modules: `people` (who, and their identifiers), `catalog`, `consent`, `campaigns`,
`commerce`, `journeys` and `segment` (events), `messaging`, `spend`, `support`, `crm`,
`delivery` (files), `corrupt` (broken rows), `truth`; `pipeline` runs them in order.
"""

from omni360.generator.pipeline import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]

"""Plain-text tables for the benchmarks' reports."""

from __future__ import annotations


def text_table(rows: list[tuple[str, ...]]) -> str:
    """Rows of cells (the first is the header) as aligned text: the first column left-aligned,
    the others right-aligned, a rule under the header."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    ruled = [rows[0], tuple("-" * width for width in widths), *rows[1:]]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in ruled
    )

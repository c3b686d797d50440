"""Plain-text tables for the command-line tools."""
from __future__ import annotations


def text_table(rows) -> str:
    """Rows of strings as left-aligned columns two spaces apart (first row: the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)

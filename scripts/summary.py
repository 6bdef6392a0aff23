"""What the demo loaded into DuckDB: rows per table, newest items, rows this run added.

Runs with the Python of the target-duckdb plugin venv, whose duckdb wrote the file:

    .meltano/loaders/target-duckdb/venv/bin/python scripts/summary.py output/edges.duckdb \
        --snapshot output/.summary-before.json       # before a run: remember the counts
    .meltano/loaders/target-duckdb/venv/bin/python scripts/summary.py output/edges.duckdb \
        --before output/.summary-before.json         # after it: report
"""

from __future__ import annotations

import argparse
import json
import typing as t
from pathlib import Path

import duckdb

SCHEMA = "tap_edges"
# Columns that say who an item is about and what it says, first present wins.
WHO = ("full_name", "linkedin_profile_handle", "first_name", "linkedin_thread_id")
WHAT = (
    "content",
    "content_text",
    "comment_text",
    "repost_text",
    "reaction_type",
    "headline",
    "job_title",
)
TEXT_WIDTH = 60


def main() -> None:
    """Print the summary (or only save a snapshot of the counts)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="the DuckDB file target-duckdb loads")
    parser.add_argument("--snapshot", type=Path, help="only save the row counts to this file")
    parser.add_argument("--before", type=Path, help="row counts saved before the run")
    args = parser.parse_args()
    counts = row_counts(args.database)
    if args.snapshot:
        args.snapshot.write_text(json.dumps(counts), encoding="utf-8")
        return
    before = read_counts(args.before)
    print_summary(args.database, counts, before)


def row_counts(database: Path) -> dict[str, int]:
    """Rows per table of the tap's schema (empty when nothing was loaded yet)."""
    if not database.exists():
        return {}
    with duckdb.connect(str(database), read_only=True) as connection:
        return {table: count(connection, table) for table in tables(connection)}


def read_counts(path: Path | None) -> dict[str, int]:
    """Row counts saved by ``--snapshot`` (none: everything counts as added)."""
    if path is None or not path.exists():
        return {}
    return {str(k): int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def tables(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables target-duckdb created for the tap's streams."""
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
        [SCHEMA],
    ).fetchall()
    return [str(row[0]) for row in rows]


def count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in one table."""
    row = connection.execute(f'SELECT count(*) FROM {SCHEMA}."{table}"').fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def print_summary(database: Path, counts: dict[str, int], before: dict[str, int]) -> None:
    """Print the tables, the newest item of each and what this run added."""
    added = {table: rows - before.get(table, 0) for table, rows in counts.items()}
    print(f"\nLoaded into {database} (schema {SCHEMA}):\n")
    print(f"  {'table':<18}{'rows':>8}{'added':>8}")
    for table, rows in counts.items():
        print(f"  {table:<18}{rows:>8}{added[table]:>+8}")
    print(f"  {'total':<18}{sum(counts.values()):>8}{sum(added.values()):>+8}")
    print("\nNewest items:\n")
    with duckdb.connect(str(database), read_only=True) as connection:
        for table in counts:
            print(f"  {table:<18}{newest(connection, table)}")
    print()
    print(verdict(counts, before, sum(added.values())))


def newest(connection: duckdb.DuckDBPyConnection, table: str) -> str:
    """One line about the most recently extracted item of a table."""
    columns = [
        str(row[0])
        for row in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [SCHEMA, table],
        ).fetchall()
    ]
    if "extracted_at" not in columns:
        return "-"
    who = next((c for c in WHO if c in columns), None)
    what = next((c for c in WHAT if c in columns), None)
    picked = ", ".join(f'"{c}"' for c in ("extracted_at", who, what) if c)
    row = connection.execute(
        f'SELECT {picked} FROM {SCHEMA}."{table}" '  # noqa: S608 - names from the catalog
        "ORDER BY extracted_at DESC NULLS LAST LIMIT 1"
    ).fetchone()
    if row is None:
        return "(empty)"
    return describe(row)


def describe(row: tuple[t.Any, ...]) -> str:
    """``<extracted at>  <who>: <what>``, shortened to fit a line."""
    extracted = str(row[0])[:19]
    parts = [str(value) for value in row[1:] if value not in (None, "")]
    text = ": ".join(parts) or "(no name)"
    if len(text) > TEXT_WIDTH:
        text = text[: TEXT_WIDTH - 1] + "…"
    return f"{extracted}  {text}"


def verdict(counts: dict[str, int], before: dict[str, int], added: int) -> str:
    """The one-line conclusion: first load, new items only, or nothing new."""
    if not before:
        return f"First run: loaded {added} rows, everything the Edges runs returned."
    if added == 0:
        return "This run added no rows: nothing new since the last run (try again in a minute)."
    grown = sum(1 for table, rows in counts.items() if rows > before.get(table, 0))
    return (
        f"This run added {added} rows in {grown} table(s): only the items Edges extracted "
        "since the last run (the continued runs return nothing older)."
    )


if __name__ == "__main__":
    main()

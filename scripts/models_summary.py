"""What dbt built from the demo's load: the models' rows, the top warm leads, every post.

Runs with the Python of the target-duckdb plugin venv (its duckdb is the one dbt-duckdb uses):

    .meltano/loaders/target-duckdb/venv/bin/python scripts/models_summary.py \
        output/edges.duckdb --run-results transform/target/duckdb/run_results.json
"""

from __future__ import annotations

import argparse
import json
import typing as t
from pathlib import Path

import duckdb

SCHEMA = "analytics"
MODELS = ("engagements", "people", "post_engagement", "warm_leads")
LEADS_PER_IDENTITY = 3
LEADS_SQL = """
    SELECT identity_id, lead_rank, full_name, headline, reasons FROM analytics.warm_leads
    WHERE lead_rank <= ? ORDER BY identity_id, lead_rank
"""
POSTS_SQL = """
    SELECT linkedin_post_url, unique_people, likes, comments, reposts, last_engagement_at
    FROM analytics.post_engagement ORDER BY unique_people DESC, linkedin_post_url
"""
WIDTHS = {"name": 18, "headline": 18, "post": 44}


def main() -> None:
    """Print the summary of the models."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="the DuckDB file dbt-duckdb built in")
    parser.add_argument("--run-results", type=Path, help="dbt's run_results.json of the build")
    args = parser.parse_args()
    results = read_results(args.run_results)
    invocation = results.get("metadata", {}).get("invocation_id")
    with duckdb.connect(str(args.database), read_only=True) as connection:
        print_models(connection, invocation, tests_passed(results))
        print_leads(connection)
        print_posts(connection)


def read_results(path: Path | None) -> dict[str, t.Any]:
    """The run_results.json dbt wrote for the build (empty when there is none)."""
    if path is None or not path.exists():
        return {}
    results: dict[str, t.Any] = json.loads(path.read_text(encoding="utf-8"))
    return results


def tests_passed(results: dict[str, t.Any]) -> str:
    """How many dbt tests the build ran, and passed."""
    tests = [r for r in results.get("results", []) if r["unique_id"].startswith("test.")]
    passed = sum(1 for r in tests if r["status"] == "pass")
    return f"{passed} of {len(tests)} dbt tests passed"


def scalar(connection: duckdb.DuckDBPyConnection, sql: str, *params: object) -> int:
    """The single integer a query returns."""
    row = connection.execute(sql, list(params)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def print_models(connection: duckdb.DuckDBPyConnection, invocation: str | None, tests: str) -> None:
    """Rows per model, and how many engagements this build wrote (incremental)."""
    print(f"\nModels built by dbt in schema {SCHEMA} ({tests}):\n")
    for model in MODELS:
        rows = scalar(connection, f"SELECT count(*) FROM {SCHEMA}.{model}")  # noqa: S608
        note = ""
        if model == "engagements" and invocation:
            written = scalar(
                connection,
                f"SELECT count(*) FROM {SCHEMA}.engagements WHERE dbt_invocation_id = ?",  # noqa: S608
                invocation,
            )
            note = f"  (+{written} written by this build: only the new items)"
        print(f"  {model:<18}{rows:>8}{note}")


def print_leads(connection: duckdb.DuckDBPyConnection) -> None:
    """The warmest leads of each identity."""
    rows = connection.execute(LEADS_SQL, [LEADS_PER_IDENTITY]).fetchall()
    print(
        "\nWarm leads (engaged in 2+ ways in the last 30 days, not a connection of the "
        f"identity), top {LEADS_PER_IDENTITY} per identity:\n"
    )
    if not rows:
        print("  (none yet)")
    for identity, rank, name, headline, reasons in rows:
        print(
            f"  {str(identity)[:8]}  #{rank}  {cut(name, 'name')}  {cut(headline, 'headline')}  "
            f"{reasons}"
        )


def print_posts(connection: duckdb.DuckDBPyConnection) -> None:
    """Engagement per post."""
    rows = connection.execute(POSTS_SQL).fetchall()
    print("\nPost engagement:\n")
    header = f"  {'post':<{WIDTHS['post']}}{'people':>7}{'likes':>7}{'comments':>9}{'reposts':>8}"
    print(f"{header}  last engagement")
    for url, people, likes, comments, reposts, last in rows:
        print(
            f"  {cut(url, 'post', tail=True)}{people:>7}{likes:>7}{comments:>9}{reposts:>8}  "
            f"{str(last)[:19]}"
        )
    print()


def cut(value: t.Any, column: str, *, tail: bool = False) -> str:  # noqa: ANN401
    """A value padded or shortened (with an ellipsis) to its column's width."""
    width = WIDTHS[column]
    text = "" if value is None else str(value)
    if len(text) > width:
        text = "…" + text[-(width - 1) :] if tail else text[: width - 1] + "…"
    return f"{text:<{width}}"


if __name__ == "__main__":
    main()

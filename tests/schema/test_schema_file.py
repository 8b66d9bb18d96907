from pathlib import Path

from schema.api import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_schema_matches_the_code():
    """Mobile clients generate code from schema/schema.graphql: regenerate it with `make schema`."""
    assert SCHEMA_FILE.read_text().strip() == str(schema).strip()

"""Print the schema's SDL, always in English, for schema/schema.graphql.

    python -m schema.export          # rewrite schema/schema.graphql
    python -m schema.export --check  # fail if the committed file is stale

Descriptions partly come from model help texts, which are translated; the committed SDL
that mobile clients generate code from must not depend on the default language.
"""

import argparse
import os
import sys
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.graphql"


def sdl() -> str:
    from django.utils import translation

    from schema.api import schema

    with translation.override("en"):
        return str(schema).strip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Write or check schema/schema.graphql.")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()
    current = sdl()
    if args.check:
        if SCHEMA_FILE.read_text() != current:
            print(f"{SCHEMA_FILE} is stale: run `make schema`.", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The database a benchmark runs in: created if missing (PostgreSQL), migrated, and set up
for Django. Each benchmark names its own scratch database in DATABASE_URL, so a benchmark
never touches the data of the service or of the tests."""

import subprocess


def prepare_scratch_database(*, fresh: bool = False) -> None:
    """``fresh``: drop the database first (PostgreSQL), to build everything again."""
    import django
    from django.conf import settings

    django.setup()
    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        host, user, name = (
            database["HOST"] or "127.0.0.1",
            database["USER"] or "postgres",
            database["NAME"],
        )
        if fresh:
            subprocess.run(["dropdb", "--if-exists", "-h", host, "-U", user, name], check=True)
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
        exists = subprocess.run(
            ["psql", "-h", host, "-U", user, "-d", "postgres", "-tAc", query],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not exists:
            subprocess.run(["createdb", "-h", host, "-U", user, name], check=True)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

"""The fault tests' fixtures (defined in ``tests/faults/fixtures.py``)."""

from tests.faults.fixtures import deployment, private_redis

__all__ = ["deployment", "private_redis"]

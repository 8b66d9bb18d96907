from django.utils import translation

from backend.regions.models import Region
from schema.api import schema
from schema.export import SCHEMA_FILE, sdl


def test_committed_schema_matches_the_code():
    """Mobile clients generate code from schema/schema.graphql: regenerate it with `make schema`."""
    assert SCHEMA_FILE.read_text() == sdl()


def test_the_schema_is_english_whatever_the_active_language():
    with translation.override("zh-hans"):
        printed = str(schema)
        help_text = str(Region._meta.get_field("code").help_text)

    assert help_text.startswith("官方行政区划代码")  # the catalog is compiled and in use
    assert "Official division code" in printed

"""Every environment variable the settings read is documented in the README."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_from_the_environment_is_in_the_readme():
    settings_source = (ROOT / "backend" / "settings.py").read_text()
    readme = (ROOT / "README.md").read_text()
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))

    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names  # the pattern still finds them
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == []

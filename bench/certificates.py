"""Certificate PDF rendering: time per render and file size (no database needed).

    .venv/bin/python bench/certificates.py [--renders 200]

Renders the same certificate (Chinese and English, short and long contents) repeatedly, as
every download does, and prints the median and 95th-percentile time and the size in bytes;
asserts nothing.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.certificates.models import ServiceCertificate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
os.environ.setdefault("LINLI_DATA_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("LOG_LEVEL", "WARNING")


def certificates() -> dict[str, "ServiceCertificate"]:
    from backend.certificates.models import ServiceCertificate

    base = {
        "code": "LL-7K3M-Q9TX-4HWD-2PZA",
        "holder_name": "王小明",
        "period_start": dt.date(2025, 1, 1),
        "period_end": dt.date(2025, 12, 31),
        "verified_minutes": 12_345,
        "activity_count": 42,
        "organizations": ["朝阳里社区党委", "朝阳里志愿服务队"],
        "issued_at": dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC),
    }
    long = {
        "organizations": [f"第{n}志愿服务队" + "共建单位" * 8 for n in range(30)],
        "revoked_at": dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        "revoked_reason": "时长登记有误" * 40,
    }
    return {
        "zh-hans": ServiceCertificate(**base, language="zh-hans"),
        "en": ServiceCertificate(**base, language="en"),
        "zh-hans, 30 organizations, revoked": ServiceCertificate(
            **{**base, **long}, language="zh-hans"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    from backend.certificates import pdf

    for name, certificate in certificates().items():
        pdf.render(certificate)  # warm up (fonts, QR tables)
        times = []
        for _ in range(args.renders):
            started = time.perf_counter()
            content = pdf.render(certificate)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        median, p95 = times[len(times) // 2], times[int(len(times) * 0.95) - 1]
        print(f"{name:38s} median {median:6.2f} ms  p95 {p95:6.2f} ms  {len(content):,} bytes")


if __name__ == "__main__":
    main()

"""The certificate PDF, read back."""

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4

from backend.certificates import pdf
from backend.certificates.models import ServiceCertificate
from backend.certificates.pdf import MARGIN, verified_hours


def certificate(**fields) -> ServiceCertificate:
    """A certificate as issued at 01:30 on 1 April 2025 in Shanghai (31 March in UTC)."""
    values = {
        "code": "LL-7K3M-Q9TX-4HWD-2PZA",
        "holder_name": "王小明",
        "period_start": dt.date(2025, 1, 1),
        "period_end": dt.date(2025, 3, 31),
        "verified_minutes": 750,
        "activity_count": 3,
        "organizations": ["朝阳里社区党委", "朝阳里志愿服务队"],
        "language": "zh-hans",
        "issued_at": dt.datetime(2025, 3, 31, 17, 30, tzinfo=dt.UTC),
    }
    return ServiceCertificate(**{**values, **fields})


def read(content: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(content))


def text_of(content: bytes) -> str:
    return read(content).pages[0].extract_text()


def test_hours_are_exact_decimals():
    assert str(verified_hours(750)) == "12.50"
    assert str(verified_hours(1)) == "0.02"  # 0.0166… rounds half up
    assert str(verified_hours(0)) == "0.00"
    assert str(verified_hours(100 * 60 + 59)) == "100.98"


def test_a_chinese_certificate_says_what_was_certified():
    content = pdf.render(certificate())
    document = read(content)
    text = text_of(content)

    assert len(document.pages) == 1
    box = document.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == (
        round(A4[0], 1),
        round(A4[1], 1),
    )
    for expected in [
        "志愿服务证明",
        "王小明",
        "2025年1月1日",
        "2025年3月31日",
        "12.50 小时",
        "朝阳里社区党委",
        "朝阳里志愿服务队",
        "2025年4月1日",  # issued on the local date in Shanghai
        "LL-7K3M-Q9TX-4HWD-2PZA",
        "verifyServiceCertificate",
    ]:
        assert expected in text, expected
    assert "已撤销" not in text
    metadata = document.metadata
    assert metadata is not None
    assert metadata.title == "志愿服务证明"
    assert metadata.author == "邻里社区志愿服务平台"


def test_an_english_certificate():
    text = text_of(pdf.render(certificate(language="en")))

    assert "Certificate of Volunteer Service" in text
    assert "12.50 hours" in text
    assert "2025-01-01 – 2025-03-31" in text
    assert "王小明" in text


def test_rendering_twice_gives_the_same_bytes():
    assert pdf.render(certificate()) == pdf.render(certificate())
    assert pdf.render(certificate()) != pdf.render(certificate(code="LL-2222-3333-4444-5555"))


def test_a_revoked_certificate_is_stamped():
    text = text_of(
        pdf.render(
            certificate(
                revoked_at=dt.datetime(2025, 5, 1, 2, tzinfo=dt.UTC), revoked_reason="重复登记"
            )
        )
    )

    assert "已撤销" in text
    assert "本证明已于2025年5月1日撤销：重复登记" in text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_long_contents_stay_on_the_page(language):
    many = certificate(
        language=language,
        holder_name="名" * 150,
        organizations=[f"第{n}志愿服务队" + "很长的名字" * 10 for n in range(30)],
        revoked_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC),
        revoked_reason="原因" * 250,
    )
    page = pdf._Page(pdf.Canvas(io.BytesIO(), pagesize=A4), many, pdf.WORDING[language])

    page.draw()

    assert page.y > MARGIN
    text = text_of(pdf.render(many))
    assert ("等" if language == "zh-hans" else "more") in text
    assert "…" in text


def test_the_filename_names_the_code():
    assert pdf.filename(certificate()) == "志愿服务证明-LL-7K3M-Q9TX-4HWD-2PZA.pdf"
    assert (
        pdf.filename(certificate(language="en"))
        == "Certificate-of-Volunteer-Service-LL-7K3M-Q9TX-4HWD-2PZA.pdf"
    )

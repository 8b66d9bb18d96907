"""The certificate as a one-page A4 PDF, drawn with reportlab.

Rendering is a pure function of the certificate row: the same certificate gives the same
bytes every time (reportlab's ``invariant`` mode fixes the creation date and document ID),
so no file is stored and a lost PDF is simply downloaded again.

The wording is fixed per language here rather than taken from the translation catalogue:
a certificate is a document whose text must not change when the interface is retranslated.
Text is set in reportlab's built-in ``STSong-Light`` CID font, which every PDF reader can
show without an embedded font file and which covers Chinese and Latin alike (names of
people and organizations are often Chinese on an English certificate).

The QR code holds ``linli://certificate/<code>`` (``codes.deep_link``): the app opens its
check screen with it, and any other scanner shows the code, which anyone can check with
the public ``verifyServiceCertificate`` query. There is no web page to link to, and a
document printed today must not carry a host name that may change.
"""

import datetime as dt
import io
import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from reportlab.graphics.barcode import qrencoder
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from backend.certificates import codes
from backend.certificates.models import CertificateLanguage, ServiceCertificate
from backend.certificates.services import LOCAL_ZONE

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

MARGIN = 20 * mm
QR_SIZE = 40 * mm
QR_QUIET_MODULES = 4  # the white margin around the code the QR standard asks for
# Lines the variable parts may take, so that the page never overflows (the check through
# the API gives them in full).
MAX_ORGANIZATION_LINES = 6
MAX_VALUE_LINES = 2
MAX_NOTICE_LINES = 3
VALUE_SIZE = 14
ACCENT = Color(0.70, 0.08, 0.08)  # the red of a Chinese official seal


@dataclass(frozen=True)
class Wording:
    title: str
    holder: str
    period: str
    hours: str
    hours_unit: str  # {hours}
    activities: str
    organizations: str
    more_organizations: str  # {count}
    issued: str
    code: str
    how_to_verify: str
    revoked: str  # {date}, {reason}
    revoked_stamp: str
    author: str
    subject: str  # {name}
    date_pattern: str  # {year}, {month}, {day}

    def date(self, day: dt.date) -> str:
        return self.date_pattern.format(year=day.year, month=day.month, day=day.day)


WORDING: dict[str, Wording] = {
    CertificateLanguage.ZH_HANS: Wording(
        title="志愿服务证明",
        holder="志愿者",
        period="服务期间",
        hours="核实服务时长",
        hours_unit="{hours} 小时",
        activities="参加活动",
        organizations="服务组织",
        more_organizations="等{count}个组织",
        issued="开具日期",
        code="验证码",
        how_to_verify="验证方法：在邻里App中扫描二维码，或通过邻里接口 verifyServiceCertificate "
        "查询上方验证码，即可核对本证明的真实性与有效性。",
        revoked="本证明已于{date}撤销：{reason}",
        revoked_stamp="已撤销",
        author="邻里社区志愿服务平台",
        subject="{name}的志愿服务证明",
        date_pattern="{year}年{month}月{day}日",
    ),
    CertificateLanguage.EN: Wording(
        title="Certificate of Volunteer Service",
        holder="Volunteer",
        period="Period",
        hours="Verified hours",
        hours_unit="{hours} hours",
        activities="Activities",
        organizations="Organizations served",
        more_organizations="and {count} more",
        issued="Issued on",
        code="Verification code",
        how_to_verify="To verify: scan the QR code with the Linli app, or check the code above "
        "with the Linli API query verifyServiceCertificate; it tells whether this "
        "certificate is genuine and still valid.",
        revoked="Revoked on {date}: {reason}",
        revoked_stamp="REVOKED",
        author="Linli community volunteering platform",
        subject="Certificate of volunteer service of {name}",
        date_pattern="{year:04d}-{month:02d}-{day:02d}",
    ),
}


def verified_hours(minutes: int) -> Decimal:
    """Minutes as hours with two decimals (750 → 12.50), rounded half up, never a float."""
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def filename(certificate: ServiceCertificate) -> str:
    title = WORDING[certificate.language].title.replace(" ", "-")
    return f"{title}-{certificate.code}.pdf"


def wrap(text: str, size: float, width: float, max_lines: int | None = None) -> list[str]:
    """Lines of ``text`` no wider than ``width``: broken at spaces where there are any,
    else between characters (Chinese has no spaces). Beyond ``max_lines`` the last line
    shown ends with "…"."""
    lines = _wrapped(text, size, width)
    if max_lines is None or len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and pdfmetrics.stringWidth(last + "…", FONT, size) > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + "…"]


def _wrapped(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for piece in _pieces(text):
        candidate = line + piece
        if line and pdfmetrics.stringWidth(candidate.rstrip(), FONT, size) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _pieces(text: str) -> list[str]:
    """Words with their trailing space, and single characters outside ASCII."""
    pieces: list[str] = []
    word = ""
    for char in text:
        if char.isascii() and not char.isspace():
            word += char
            continue
        if word:
            pieces.append(word)
            word = ""
        if char.isspace() and pieces:
            pieces[-1] += " "
        elif not char.isspace():
            pieces.append(char)
    if word:
        pieces.append(word)
    return pieces


def render(certificate: ServiceCertificate) -> bytes:
    words = WORDING[certificate.language]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(words.title)
    canvas.setAuthor(words.author)
    canvas.setSubject(words.subject.format(name=certificate.holder_name))
    canvas.setCreator(words.author)
    _Page(canvas, certificate, words).draw()
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _Page:
    def __init__(self, canvas: Canvas, certificate: ServiceCertificate, words: Wording) -> None:
        self.canvas = canvas
        self.certificate = certificate
        self.words = words
        self.width, self.height = A4
        self.y = self.height - MARGIN - 25 * mm

    def draw(self) -> None:
        certificate, words, canvas = self.certificate, self.words, self.canvas
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(2)
        canvas.rect(MARGIN / 2, MARGIN / 2, self.width - MARGIN, self.height - MARGIN)
        canvas.setFillColor(ACCENT)
        canvas.setFont(FONT, 28)
        canvas.drawCentredString(self.width / 2, self.y, words.title)
        canvas.setFillColor(black)
        self.y -= 25 * mm

        issued_on = certificate.issued_at.astimezone(LOCAL_ZONE).date()
        period = f"{words.date(certificate.period_start)} – {words.date(certificate.period_end)}"
        self.row(words.holder, [certificate.holder_name])
        self.row(words.period, [period])
        hours = verified_hours(certificate.verified_minutes)
        self.row(words.hours, [words.hours_unit.format(hours=hours)])
        self.row(words.activities, [str(certificate.activity_count)])
        self.row(words.organizations, self.organization_lines())
        self.row(words.issued, [words.date(issued_on)])

        self.verification()
        if certificate.revoked_at is not None:
            self.revoked_notice()

    label_width = 45 * mm

    @property
    def value_width(self) -> float:
        return self.width - 2 * MARGIN - 10 * mm - self.label_width

    def row(self, label: str, values: list[str]) -> None:
        self.canvas.setFont(FONT, 12)
        self.canvas.drawString(MARGIN + 5 * mm, self.y, label)
        self.canvas.setFont(FONT, VALUE_SIZE)
        for value in values:
            for line in wrap(value, VALUE_SIZE, self.value_width, MAX_VALUE_LINES):
                self.canvas.drawString(MARGIN + 5 * mm + self.label_width, self.y, line)
                self.y -= 8 * mm
        self.y -= 3 * mm

    def organization_lines(self) -> list[str]:
        """The organizations' names, wrapped, in at most ``MAX_ORGANIZATION_LINES`` lines;
        those left out are counted on the last line."""
        names = list(self.certificate.organizations)
        lines: list[str] = []
        for shown, name in enumerate(names):
            name_lines = wrap(name, VALUE_SIZE, self.value_width)
            rest = len(names) - shown - 1
            room = MAX_ORGANIZATION_LINES - len(lines) - (1 if rest else 0)
            if len(name_lines) > room:
                more = self.words.more_organizations.format(count=len(names) - shown)
                return [*lines, more]
            lines.extend(name_lines)
        return lines

    def paragraph(self, text: str, size: float, width: float, max_lines: int | None = None) -> None:
        self.canvas.setFont(FONT, size)
        for line in wrap(text, size, width, max_lines):
            self.canvas.drawString(MARGIN + 5 * mm, self.y, line)
            self.y -= size * 1.5

    def verification(self) -> None:
        """The code in large type with how to check it on the left, the QR code right."""
        top = self.y - 6 * mm
        self.qr_code(self.width - MARGIN - 5 * mm - QR_SIZE, top - QR_SIZE)
        text_width = self.width - 2 * MARGIN - QR_SIZE - 20 * mm
        self.y = top - 5 * mm
        self.canvas.setFont(FONT, 12)
        self.canvas.drawString(MARGIN + 5 * mm, self.y, self.words.code)
        self.y -= 12 * mm
        self.canvas.setFont(FONT, 22)
        self.canvas.drawString(MARGIN + 5 * mm, self.y, self.certificate.code)
        self.y -= 10 * mm
        self.paragraph(self.words.how_to_verify, 10, text_width)
        self.y = min(self.y, top - QR_SIZE) - 8 * mm

    def qr_code(self, x: float, y: float) -> None:
        """The QR code as one filled path of its dark runs (reportlab's widget builds a
        shape object per run, which takes most of the rendering time)."""
        qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(codes.deep_link(self.certificate.code))
        qr.make()
        count = qr.getModuleCount()
        module = QR_SIZE / (count + 2 * QR_QUIET_MODULES)
        path = self.canvas.beginPath()
        for row, modules in enumerate(qr.modules):
            column = 0
            for dark, run in itertools.groupby(bool(m) for m in modules):
                length = len(list(run))
                if dark:
                    path.rect(
                        x + (column + QR_QUIET_MODULES) * module,
                        y + (count - row - 1 + QR_QUIET_MODULES) * module,
                        length * module,
                        module,
                    )
                column += length
        self.canvas.setFillColor(black)
        self.canvas.drawPath(path, stroke=0, fill=1)

    def revoked_notice(self) -> None:
        certificate, canvas = self.certificate, self.canvas
        assert certificate.revoked_at is not None
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.setFont(FONT, 72)
        canvas.translate(self.width / 2, self.height / 2)
        canvas.rotate(30)
        canvas.drawCentredString(0, 0, self.words.revoked_stamp)
        canvas.restoreState()
        revoked_on = certificate.revoked_at.astimezone(LOCAL_ZONE).date()
        notice = self.words.revoked.format(
            date=self.words.date(revoked_on), reason=certificate.revoked_reason
        )
        canvas.setFillColor(ACCENT)
        self.paragraph(notice, 11, self.width - 2 * MARGIN - 10 * mm, MAX_NOTICE_LINES)
        canvas.setFillColor(black)

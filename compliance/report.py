"""A pack's report over a set of scorecards (the clouds a reader may see): per control its status on
each cloud and overall, failing and exempted resources, the pack's score and coverage; as PDF here,
as HTML and CSV by the web views."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from xml.sax.saxutils import escape

from compliance.evaluate import score_of
from compliance.models import Scorecard
from compliance.schema import Control, Pack

#: Overall status of a control over several clouds: the first of these found on any cloud.
STATUS_ORDER = ("fail", "pass", "manual", "not-covered", "not-applicable")


@dataclass
class ControlRow:
    control: Control
    cells: list[tuple[Scorecard, dict]]  # (scorecard, its entry for the control), in the order of PackReport.cards
    status: str = ""
    passed: int = 0
    failed: int = 0
    exempted: int = 0


@dataclass
class PackReport:
    pack: Pack
    cards: list[Scorecard]
    generated_on: date
    controls: list[ControlRow] = field(default_factory=list)

    @property
    def coverage(self) -> dict:
        return self.pack.coverage()

    @property
    def score(self) -> float | None:
        """The score over all the report's clouds (their checks added up); None without a scorecard."""
        if not self.cards:
            return None
        return score_of(*(sum(getattr(card, key) for card in self.cards) for key in ("passed", "failed", "exempted")))


def pack_report(pack: Pack, cards: list[Scorecard], generated_on: date) -> PackReport:
    report = PackReport(pack=pack, cards=cards, generated_on=generated_on)
    for control in pack.controls:
        cells = [(card, card.controls.get(control.id, {})) for card in cards]
        statuses = {cell.get("status") for _, cell in cells}
        row = ControlRow(
            control=control,
            cells=cells,
            status=next((status for status in STATUS_ORDER if status in statuses), ""),
            **{key: sum(cell.get(key, 0) for _, cell in cells) for key in ("passed", "failed", "exempted")},
        )
        report.controls.append(row)
    return report


_FONTS_REGISTERED = False


def _fonts() -> tuple[str, str]:
    """Bitstream Vera (shipped with reportlab): embedded, so curly quotes and accents print and extract."""
    global _FONTS_REGISTERED
    if not _FONTS_REGISTERED:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
        _FONTS_REGISTERED = True
    return "Vera", "VeraBd"


STATUS_COLORS = {"fail": "#f6d5d3", "pass": "#d5efd9", "manual": "#eef1f4", "not-covered": "#eef1f4"}


def to_pdf(report: PackReport) -> bytes:
    """The report as an A4 PDF: title, date, score, coverage, scores per cloud and the controls table."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _fonts()
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=9, leading=11)
    title = ParagraphStyle("title", parent=styles["Title"], fontName=bold, fontSize=16, leading=20)
    heading = ParagraphStyle("heading", parent=styles["Heading2"], fontName=bold, fontSize=12)
    pack, coverage = report.pack, report.coverage

    def text(value: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(value)), style)

    score = "no scorecard yet" if report.score is None else f"{report.score:.1f}%"
    story = [
        text(f"{pack.name} {pack.version}", title),
        text(f"Report of {report.generated_on.isoformat()} · score {score} over {len(report.cards)} cloud account(s)"),
        text(
            f"Coverage: {coverage['automated']} of {coverage['total']} controls have insights "
            f"({coverage['coverage'] * 100:.0f}%), {coverage['manual']} manual, {coverage['uncovered']} not covered."
        ),
        Spacer(1, 4 * mm),
    ]
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), regular, 8),
            ("FONT", (0, 0), (-1, 0), bold, 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b9c4cf")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("REPEATROWS", (0, 0), (-1, 0)),
        ]
    )
    if report.cards:
        story.append(text("Score per cloud account", heading))
        rows = [["Cloud", "Account", "Score", "Passed", "Failed", "Exempted", "Computed"]]
        for card in report.cards:
            rows.append(
                [
                    text(card.cloud.name),
                    card.cloud.account_id,
                    f"{card.score:.1f}%",
                    card.passed,
                    card.failed,
                    card.exempted,
                    card.computed_at.strftime("%Y-%m-%d %H:%M"),
                ]
            )
        story += [Table(rows, style=grid, hAlign="LEFT", repeatRows=1), Spacer(1, 4 * mm)]
    story.append(text("Controls", heading))
    header = ParagraphStyle("header", parent=body, fontName=bold, fontSize=8, leading=10)
    rows = [[text(name, header) for name in ("Control", "Title", "Status", "Failing resources", "Exempted")]]
    style = TableStyle(grid.getCommands())
    for index, row in enumerate(report.controls, start=1):
        rows.append([text(row.control.id), text(row.control.title), row.status or "–", row.failed, row.exempted])
        if row.status in STATUS_COLORS:
            style.add("BACKGROUND", (2, index), (2, index), colors.HexColor(STATUS_COLORS[row.status]))
    widths = [24 * mm, 88 * mm, 24 * mm, 22 * mm, 22 * mm]
    story.append(Table(rows, colWidths=widths, style=style, hAlign="LEFT", repeatRows=1))

    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"{pack.name} report",
        author="InsightCloud",
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story)
    return out.getvalue()

"""What is said of an award, by the office's pages and documents and by the open data alike:
its reasons in a sentence, and whether the supplier is accredited for the service. A lower file
both operations and releases read (releases.py cannot import operations, which publishes through it)."""
from decimal import Decimal

from flask_babel import gettext as _

from app.i18n import number
from app.organisations.models import Organisation
from app.organisations.operations import is_accredited

from .models import Award, Process


def accredited(process: Process, organisation: Organisation) -> bool | None:
    """Whether the supplier is accredited today for the process's service (None: no category)."""
    if process.category is None:
        return None
    return is_accredited(organisation.id, process.category.slug)

def award_reasons(award: Award) -> str:
    """The award's reasons in one sentence, in the reader's language."""
    points = number(Decimal(award.total_score) / 100)  # 79,25 in Italian
    runner = next((r for r in award.ranking if r["bid_id"] != award.bid_id), None)
    if award.override:
        text = _("%(name)s was chosen over the top of the ranking, with %(points)s points out of 100.",
                 name=award.supplier.name, points=points)
    elif award.tie:
        text = _("%(name)s shared the top of the ranking with %(points)s points out of 100.",
                 name=award.supplier.name, points=points)
    elif runner:
        text = _("%(name)s had the highest weighted score, %(points)s points out of 100; the next bid "
                 "had %(next)s.", name=award.supplier.name, points=points, next=number(Decimal(runner["total"]) / 100))
    else:
        text = _("%(name)s was the only bid, with %(points)s points out of 100.",
                 name=award.supplier.name, points=points)
    if award.justification:
        text += " " + _("Justification: %(text)s", text=award.justification)
    return text


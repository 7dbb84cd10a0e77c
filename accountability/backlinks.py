"""The needs a pact serves and a voucher programme answers, listed on the pact's and the
programme's own pages (through app/backlinks.py: those modules never import this one). The same
links as the need's result (results.py): a pact linked by hand or signed on a commons in the
neighbourhood the need names; a programme linked by hand. Two statements per kind of page."""
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.backlinks import Backlink, register_backlinks
from app.extensions import db
from councils.models import PriorityNeed
from pacts.models import SIGNED_STATES, Commons, Pact, pact_commons

from .models import LinkKind, NeedLink

SERVES = _l("Serves the council priority need")
ANSWERS = _l("Answers the council priority need")


def _link(kind, need) -> Backlink:
    return Backlink(kind, need.title, "accountability.need", {"need_id": need.id})


def _linked(kind: LinkKind, targets) -> list:
    return db.session.execute(
        select(NeedLink.target, PriorityNeed).join(PriorityNeed, PriorityNeed.id == NeedLink.need_id)
        .where(NeedLink.kind == kind.value, NeedLink.target.in_(targets)).order_by(PriorityNeed.id)).all()


def needs_served_by_pacts(pact_ids) -> dict:
    found = defaultdict(dict)
    for target, need in _linked(LinkKind.PACT, [str(i) for i in pact_ids]):
        found[int(target)][need.id] = need
    for pact_id, need in db.session.execute(
            select(pact_commons.c.pact_id, PriorityNeed)
            .join(Commons, Commons.id == pact_commons.c.commons_id)
            .join(Pact, Pact.id == pact_commons.c.pact_id)
            .join(PriorityNeed, PriorityNeed.neighbourhood == Commons.neighbourhood)
            .where(pact_commons.c.pact_id.in_(pact_ids), Pact.state.in_([s.value for s in SIGNED_STATES]))
            .order_by(PriorityNeed.id)):
        found[pact_id][need.id] = need
    return {pact_id: [_link(SERVES, n) for _id, n in sorted(needs.items())] for pact_id, needs in found.items()}


def needs_answered_by_programmes(slugs) -> dict:
    found = defaultdict(list)
    for slug, need in _linked(LinkKind.PROGRAMME, list(slugs)):
        found[slug].append(_link(ANSWERS, need))
    return found


register_backlinks("pact", needs_served_by_pacts)
register_backlinks("programme", needs_answered_by_programmes)

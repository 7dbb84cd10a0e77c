"""Demo data: a programme, vouchers in every state, redemptions, a settled
period, a contribution and some time credits. Safe to run again."""
from datetime import timedelta

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db

from . import closing, contributions, figures, issuance, programmes, redemption, settlement, time_credits
from .models import Programme, Redemption

SLUG = "home-care-demo"


def load(demo) -> None:
    if db.session.execute(select(Programme.id).where(Programme.slug == SLUG)).first():
        return
    today = demo.today
    official = demo.users["official@villanova.example"]
    marco = demo.users["citizen@villanova.example"]
    aina = demo.users["citizen2@villanova.example"]
    coop = demo.users["coop@villanova.example"]
    coop2 = demo.users["coop2@villanova.example"]
    la_tela, casa_comune = demo.organisations["la-tela"], demo.organisations["casa-comune"]

    programme = programmes.create_programme(
        SLUG, "Home and elder care", 5_000_000, ["elder-care", "home-care", "childcare"],
        date_end(today), valid_from=today - timedelta(days=60), actor=official,
        eligibility="Every resident; the amount depends on household income.",
        scale=programmes.parse_scale("1500000:30000, 3000000:20000, *:10000"))
    active = issuance.issue_voucher(programme, marco, 30000, actor=official)
    spent = issuance.issue_voucher(programme, aina, 10000, actor=official, pin="2468")
    issuance.issue_voucher(programme, aina, 20000, actor=official)
    revoked = issuance.issue_voucher(programme, marco, 5000, actor=official)
    # Issued a month ago: before last week's redemptions.
    month_ago = utcnow() - timedelta(days=30)
    for voucher in (active, spent, revoked):
        voucher.issued_at = month_ago
    db.session.commit()
    closing.revoke_voucher(revoked, "Card reported lost; a new voucher was issued.", actor=official)

    # Redemptions last week, settled; and one today, still open.
    week_ago = utcnow() - timedelta(days=7)
    for code, amount, category, org, member in [(active.code, 4500, "elder-care", la_tela, coop),
                                                 (spent.code, 10000, "childcare", casa_comune, coop2)]:
        result = redemption.redeem(code, amount, category, org, actor=member,
                                   pin="2468" if code == spent.code else None)
        db.session.get(Redemption, result.redemption_id).at = week_ago
    db.session.commit()
    settle_day = (week_ago.date())
    settlement.settle(settle_day - timedelta(days=1), settle_day + timedelta(days=1), actor=official)
    redemption.redeem(active.code, 2500, "home-care", la_tela, actor=coop)

    # A voucher whose validity ended ten days ago: expired, its remainder back in the programme.
    # (Issuance refuses a past end, so the story is moved back once written.)
    old = issuance.issue_voucher(programme, marco, 8000, actor=official, valid_until=today)
    old.issued_at, old.valid_until = utcnow() - timedelta(days=70), today - timedelta(days=10)
    db.session.commit()
    closing.expire_vouchers(actor=official, on=today)
    # …and one in its last day: still good at a desk until midnight in the city.
    issuance.issue_voucher(programme, aina, 3000, actor=official, valid_until=today)

    contributions.contribute(25000, actor=coop, organisation=la_tela)
    contributions.contribute(5000, actor=aina)
    time_credits.record_time(marco, 180, la_tela, actor=coop, note="Afternoon with Mrs Bassi")
    time_credits.give_time(marco, aina, 60)
    # The story's dates were moved back once written: the public figures' running sums (kept by
    # month) are recomputed from the dates the demo tells.
    figures.rebuild()


def date_end(today):
    return today.replace(year=today.year + 1, month=12, day=31)

"""The office's figures: social-economy shares summed by the database, per year,
department and category; processes by phase; commitments needing attention."""
from datetime import date, timedelta
from decimal import Decimal

from app.extensions import db
from app.i18n import city_today
from procurement import contracts, evaluation, monitoring

from ..conftest import login
from .conftest import score


def _won_by(city, org, amount, year=None, department=None, contract=False, title="Service"):
    """A process awarded to `org` for `amount` cents, decided in `year`."""
    process = city.process("bids", bidders=[org], title=title)
    process.bids[0].amount_cents = amount
    score(process, process.bids[0], [50] * len(process.criteria), city.official)
    award = evaluation.decide_award(process, actor=city.official)
    if contract:
        today = city_today()
        contracts.record_contract(process, actor=city.official, signed_on=today, period_start=today,
                                  period_end=today + timedelta(days=30))
    if year:
        award.decided_on = date(year, 6, 1)
    if department:
        process.department = department
    db.session.commit()
    return process


def test_shares_per_year(city):
    _won_by(city, city.coop, 600_000, year=2025, contract=True)
    _won_by(city, city.company, 400_000, year=2025, contract=True)
    _won_by(city, city.coop_b, 250_000, year=2026, contract=True)
    _won_by(city, city.company, 750_000, year=2026)             # awarded, no contract yet
    shares = {s.key: s for s in monitoring.social_economy_shares("year")}
    assert set(shares) == {2025, 2026}
    y2025, y2026 = shares[2025], shares[2026]
    assert (y2025.value_cents, y2025.social_value_cents, y2025.value_share) == (1_000_000, 600_000, Decimal("60.0"))
    assert (y2025.contracts, y2025.social_contracts, y2025.contract_share) == (2, 1, Decimal("50.0"))
    assert (y2026.value_cents, y2026.social_value_cents, y2026.value_share) == (1_000_000, 250_000, Decimal("25.0"))
    assert (y2026.awards, y2026.social_awards, y2026.contracts, y2026.contract_share) == (2, 1, 1, Decimal("100.0"))


def test_shares_per_department_and_category(city, make_category):
    _won_by(city, city.coop, 100_000)
    _won_by(city, city.company, 200_000)
    third = _won_by(city, city.coop, 300_000, department=city.other_department)
    third.category = make_category("childcare")
    db.session.commit()
    by_department = {s.key: s for s in monitoring.social_economy_shares("department")}
    assert by_department["Social Services"].value_share == Decimal("33.3")  # 100k of 300k
    assert by_department["Commons Office"].value_share == Decimal("100.0")
    by_category = {s.key: (s.value_cents, s.social_value_cents) for s in monitoring.social_economy_shares("category")}
    assert by_category == {"Elder Care": (300_000, 100_000), "Childcare": (300_000, 300_000)}


def test_no_awards_no_share(city):
    city.process("tender")
    assert monitoring.social_economy_shares("year") == []
    counts = dict(monitoring.processes_by_phase())
    assert counts["tender"] == 1 and counts["planning"] == 0


def test_the_dashboard_page_shows_shares_and_the_chart(app, city):
    _won_by(city, city.coop, 600_000, year=2025, contract=True)
    _won_by(city, city.company, 400_000, year=2025, contract=True)
    client = app.test_client()
    login(client, city.outsider.email)  # any official: the office sees everything
    page = client.get("/procurement/dashboard").get_data(as_text=True)
    assert "<svg" in page and 'height="120.0"' in page  # 60 % of a 200-pixel scale
    assert "60 %" in page and "50 %" in page
    assert "style=" not in page


def test_the_dashboard_answers_a_visitor_in_four_languages(app, city):
    _won_by(city, city.coop, 600_000, year=2025, contract=True)
    headings = {"en": "Social procurement office", "es": "Oficina de contratación social",
                "it": "Ufficio appalti sociali", "ca": "Oficina de contractació social"}
    for locale, heading in headings.items():
        response = app.test_client().get("/procurement/dashboard", headers={"Accept-Language": locale})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and heading in page, locale
        assert "<svg" in page and '<desc id="chart-desc">' in page  # the chart, and its words for a screen reader
    assert "2025: 100 % of" in app.test_client().get("/procurement/dashboard").get_data(as_text=True)


def test_the_dashboard_is_cached_for_visitors_like_the_other_public_pages(app, city):
    app.config["PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS"] = 30
    client = app.test_client()
    assert client.get("/procurement/dashboard").headers["X-Page-Cache"] == "miss"
    assert client.get("/procurement/dashboard").headers["X-Page-Cache"] == "hit"


def test_the_dashboard_figures_download_as_csv_and_json(app, city):
    _won_by(city, city.coop, 600_000, year=2025, contract=True)
    _won_by(city, city.company, 400_000, year=2025, contract=True)
    client = app.test_client()
    csv = client.get("/open-data/social-economy-share.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "by,key,awards,social_awards,value,social_value,value_share,contracts,social_contracts"
    assert "year,2025,2,1,10000.0,6000.0,60.0,2,1" in lines
    shares = client.get("/open-data/social-economy-share.json").get_json()["shares"]
    assert {"by": "year", "key": "2025", "awards": 2, "social_awards": 1, "value": 10000.0, "social_value": 6000.0,
            "value_share": 60.0, "contracts": 2, "social_contracts": 1} in shares

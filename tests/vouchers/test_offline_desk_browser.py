"""The front desk without a connection, for real (issue #24): Chromium through Playwright, the network
cut with the context's offline switch and the server itself stopped, so that the page can only come
from the service worker's copy. A scanned QR allowance (typed into the code field as a USB scanner
types it) is checked in the browser with WebCrypto Ed25519; the sale waits in IndexedDB across a
reload; back online it settles exactly once, or, after a conflict, is paid from the risk budget."""
import threading
import time
from datetime import timedelta

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD
from tests.vouchers.test_qr_scan_browser import qr_video
from vouchers import allowances, issuance, ledger, redemption
from vouchers.models import OfflineSale, Redemption

pytestmark = pytest.mark.browser


class DeskServer:
    """The test's app on a loopback port that can be stopped (the connection is gone for good) and
    started again on the same port (the same origin, so the same service worker and storage)."""

    def __init__(self, app):
        self.app, self.port, self.server = app, 0, None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def desk_server(app):
    server = DeskServer(app).start()
    yield server
    if server.server is not None:
        try:
            server.stop()
        except OSError:
            pass


@pytest.fixture
def offline_city(city):
    allowances.set_offline_terms(city.programme, allowance_cents=5000, sales_per_day=1, validity_days=7,
                                 risk_budget_cents=20000, actor=city.official)
    city.voucher = issuance.issue_voucher(city.programme, city.citizen, 8000, actor=city.official)
    db.session.commit()
    return city


def _watch_errors(page):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _until(page, script, seconds=15):
    """Wait until `script` (a function, maybe async) is true in the page: page.wait_for_function
    evaluates a string, which the site's CSP (no unsafe-eval) rightly forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(100)


def _open_desk(page, base, email):
    page.goto(base + "/account/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(base + "/vouchers/desk")
    # The service worker has taken the desk over and kept its page and scripts.
    _until(page, "() => navigator.serviceWorker.controller !== null")
    _until(page, """async () => {
        for (const name of await caches.keys()) {
            if (await (await caches.open(name)).match('/vouchers/desk')) { return true; }
        }
        return false;
    }""")


def _cut(page, server):
    page.context.set_offline(True)
    server.stop()


def _restore(page, server):
    server.start()
    page.context.set_offline(False)


def _counts():
    db.session.commit()  # end the test's read snapshot, to see what the server wrote
    return (db.session.execute(select(func.count(Redemption.id))).scalar_one(),
            db.session.execute(select(func.count(OfflineSale.id))).scalar_one())


def _sell_offline(page, qr_text, amount):
    page.locator("input[name=code]").fill(qr_text)
    page.locator("input[name=amount]").fill(amount)
    page.locator("form.desk-redeem button[type=submit]").click()


def test_a_sale_made_offline_survives_a_reload_and_settles_once(offline_city, browser, desk_server, screenshot):
    city = offline_city
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    problems = _watch_errors(page)
    try:
        _open_desk(page, desk_server.url, city.member.email)
        state, waiting = page.locator("[data-offline-state]"), page.locator("[data-offline-waiting]")
        message = page.locator("[data-offline-message]")
        expect(state).to_contain_text("Online")
        _cut(page, desk_server)
        expect(state).to_contain_text("Offline")
        page.locator("input[name=code]").fill(allowances.qr_text(city.voucher))
        expect(page.locator("input[name=code]")).to_have_value(city.voucher.code)
        expect(message).to_contain_text("Offline allowance: up to")
        page.locator("input[name=amount]").fill("12.50")
        page.locator("form.desk-redeem button[type=submit]").click()
        expect(message).to_contain_text("Sale kept on this device")
        expect(waiting).to_have_text("1")
        # The same scan cannot be sold twice.
        page.locator("input[name=code]").fill(city.voucher.code)
        page.locator("input[name=amount]").fill("1")
        page.locator("form.desk-redeem button[type=submit]").click()
        expect(message).to_contain_text("no offline allowance")
        screenshot("sale-kept-offline", page)

        # The server is gone: the reloaded desk is the service worker's copy, the sale still waits.
        response = page.reload()
        assert response.from_service_worker
        expect(waiting).to_have_text("1")
        expect(state).to_contain_text("Offline")
        assert _counts() == (0, 0)

        _restore(page, desk_server)
        expect(waiting).to_have_text("0")
        expect(page.locator("[data-offline-queue] tbody tr")).to_contain_text("Redeemed")
        expect(page.locator("[data-offline-synced]")).not_to_have_text("never")
        screenshot("sale-settled", page)
        # Further ticks and reloads send nothing again.
        page.reload()
        page.evaluate("window.ProcomunDesk.sync()")
        assert _counts() == (1, 1)
        sold = db.session.execute(select(Redemption)).scalar_one()
        assert sold.amount_cents == 1250 and sold.organisation_id == city.coop.id
        sale = db.session.execute(select(OfflineSale)).scalar_one()
        assert sale.redemption_id == sold.id and sale.offline_at <= sale.synced_at
        assert ledger.balance(db.session.get(type(city.voucher), city.voucher.id).account) == 8000 - 1250
        assert ledger.verify().ok
        assert not problems, problems
    finally:
        context.close()


def test_a_conflict_meanwhile_is_paid_from_the_risk_budget_and_reported(offline_city, browser, desk_server,
                                                                        screenshot):
    city = offline_city
    qr = allowances.qr_text(city.voucher)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        _open_desk(page, desk_server.url, city.member.email)
        _cut(page, desk_server)
        _sell_offline(page, qr, "30")
        expect(page.locator("[data-offline-waiting]")).to_have_text("1")
        # Meanwhile the holder spends the whole voucher online at another co-op.
        redemption.redeem(city.voucher.code, 8000, "elder-care", city.other, actor=city.other_member)
        db.session.commit()
        _restore(page, desk_server)
        expect(page.locator("[data-offline-waiting]")).to_have_text("0")
        expect(page.locator("[data-offline-queue] tbody tr")).to_contain_text("Paid by the city")
        screenshot("conflict-honoured", page)
        db.session.commit()
        sale = db.session.execute(select(OfflineSale)).scalar_one()
        assert (sale.outcome, sale.reason, sale.redemption_id) == ("honoured", "exhausted", None)
        assert allowances.risk_paid(city.programme) == 3000
        assert redemption.organisation_balance(city.coop) == 3000
        assert ledger.verify().ok
        # The city sees it on its conflicts page.
        official_context = browser.new_context(locale="en-GB")
        official = official_context.new_page()
        official.goto(desk_server.url + "/account/login")
        official.locator("input[name=email]").fill(city.official.email)
        official.locator("input[name=password]").fill(PASSWORD)
        official.locator("form button[type=submit]").last.click()
        official.wait_for_load_state()
        official.goto(desk_server.url + "/vouchers/offline")
        expect(official.locator("[data-offline-conflicts]")).to_contain_text(city.voucher.code)
        expect(official.locator("[data-offline-conflicts]")).to_contain_text("Honoured from the risk budget")
        official_context.close()
    finally:
        context.close()


def test_a_server_out_of_reach_while_the_device_is_online_keeps_the_sale(offline_city, browser, desk_server):
    """The device says online (its Wi-Fi is up) but the server does not answer: a scanned sale is kept
    as if offline, the desk says why, and it settles once when the server answers again. While the
    server answers, the same scanned sale goes straight to it."""
    city = offline_city
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    problems = _watch_errors(page)
    try:
        _open_desk(page, desk_server.url, city.member.email)
        _sell_offline(page, allowances.qr_text(city.voucher), "10")
        expect(page.locator(".alert-success")).to_be_visible()
        assert _counts() == (1, 0)

        desk_server.stop()  # the network is up; only the server is gone
        state = page.locator("[data-offline-state]")
        _sell_offline(page, allowances.qr_text(city.voucher), "12.50")
        expect(page.locator("[data-offline-message]")).to_contain_text("Sale kept on this device")
        expect(page.locator("[data-offline-waiting]")).to_have_text("1")
        expect(state).to_contain_text("the server does not answer")
        assert page.evaluate("navigator.onLine")

        desk_server.start()
        expect(page.locator("[data-offline-waiting]")).to_have_text("0")
        expect(state).to_contain_text("Online")
        expect(page.locator("[data-offline-queue] tbody tr")).to_contain_text("Redeemed")
        assert _counts() == (2, 1)
        assert ledger.balance(db.session.get(type(city.voucher), city.voucher.id).account) == 8000 - 1000 - 1250
        assert ledger.verify().ok
        assert not problems, problems
    finally:
        context.close()


def test_a_forged_expired_or_typed_allowance_is_not_sold_offline(offline_city, browser, desk_server):
    city = offline_city
    signed = allowances.qr_text(city.voucher)
    text, _dot, signature = signed.rpartition(".")
    forged = text.replace(".5000.", ".50000.") + "." + signature
    expired = allowances.sign(allowances.Allowance(city.voucher.code, 5000, 1, city.today - timedelta(days=1)))
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        _open_desk(page, desk_server.url, city.member.email)
        _cut(page, desk_server)
        message = page.locator("[data-offline-message]")
        _sell_offline(page, city.voucher.code, "10")
        expect(message).to_contain_text("no offline allowance")
        _sell_offline(page, forged, "10")
        expect(message).to_contain_text("not signed by the city")
        _sell_offline(page, expired, "10")
        expect(message).to_contain_text("allowance has ended")
        _sell_offline(page, signed, "60")  # above the 50.00 it allows
        expect(message).to_contain_text("Above what this voucher may spend offline")
        expect(page.locator("[data-offline-waiting]")).to_have_text("0")
        assert page.evaluate("window.ProcomunDesk.sales().then(s => s.length)") == 0
        _restore(page, desk_server)
        assert _counts() == (0, 0)
        assert ledger.verify().ok
    finally:
        context.close()


def test_the_same_queued_sale_sent_from_two_tabs_at_once_is_one_redemption(offline_city, browser, desk_server):
    city = offline_city
    context = browser.new_context(locale="en-GB")
    first = context.new_page()
    first.set_default_timeout(15000)
    try:
        _open_desk(first, desk_server.url, city.member.email)
        second = context.new_page()
        second.set_default_timeout(15000)
        second.goto(desk_server.url + "/vouchers/desk")
        _until(second, "() => navigator.serviceWorker.controller !== null")
        _cut(first, desk_server)
        _sell_offline(first, allowances.qr_text(city.voucher), "20")
        expect(first.locator("[data-offline-waiting]")).to_have_text("1")
        second.evaluate("window.ProcomunDesk.render()")
        expect(second.locator("[data-offline-waiting]")).to_have_text("1")
        desk_server.start()
        # Back online, both tabs send the same kept sale at the same moment (each on its "online"
        # event, and once more by hand, not waiting for the other).
        context.set_offline(False)
        first.evaluate("() => { window.ProcomunDesk.sync(); }")
        second.evaluate("() => { window.ProcomunDesk.sync(); }")
        expect(first.locator("[data-offline-waiting]")).to_have_text("0")
        second.evaluate("window.ProcomunDesk.render()")
        expect(second.locator("[data-offline-waiting]")).to_have_text("0")
        assert _counts() == (1, 1)
        assert ledger.verify().ok
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["es", "it", "ca"])
def test_the_desk_opens_offline_in_its_language(offline_city, browser, desk_server, locale):
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        _open_desk(page, desk_server.url, offline_city.member.email)
        _cut(page, desk_server)
        page.reload()
        with force_locale(locale):
            waiting, offline = _("Sales waiting to be sent"), _(
                "Offline: sales within a voucher’s signed allowance are kept on this device and sent when the "
                "connection returns.")
        assert waiting != "Sales waiting to be sent"
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator(".offline-desk dt").first).to_have_text(waiting)
        expect(page.locator("[data-offline-state]")).to_have_text(offline)
    finally:
        context.close()


def test_the_camera_reads_the_qr_allowance_and_the_desk_sells_offline(offline_city, browser, desk_server, tmp_path):
    """The QR code the holder's page draws, played as the camera: read offline (the decoder itself
    from the service worker's copy), its allowance checked, the sale kept and then settled."""
    city = offline_city
    video = qr_video(allowances.qr_text(city.voucher), tmp_path / "allowance.y4m")
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    try:
        context = camera_browser.new_context(locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(15000)
        _open_desk(page, desk_server.url, city.member.email)
        _cut(page, desk_server)
        page.get_by_role("button", name="Scan QR code").click()
        expect(page.locator("input[name=code]")).to_have_value(city.voucher.code)
        expect(page.locator("[data-offline-message]")).to_contain_text("Offline allowance: up to")
        page.locator("input[name=amount]").fill("8")
        page.locator("form.desk-redeem button[type=submit]").click()
        expect(page.locator("[data-offline-waiting]")).to_have_text("1")
        _restore(page, desk_server)
        expect(page.locator("[data-offline-waiting]")).to_have_text("0")
        assert _counts() == (1, 1)
        assert ledger.verify().ok
    finally:
        camera_browser.close()

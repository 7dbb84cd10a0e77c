"""Scanning a voucher's QR code at the front desk with the phone's camera, for real:
Chromium's fake camera plays a video of the voucher's QR code (made from the same QR the
app draws), the page decodes it (BarcodeDetector or the vendored jsQR) and fills the code.
Without a camera, the page says so and typing still works."""
import base64
import io

import pytest
import segno
from PIL import Image
from playwright.sync_api import expect

from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD
from vouchers import documents, issuance

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480


def qr_video(code: str, path, frames: int = 6):
    """A YUV4MPEG2 (.y4m) clip of the voucher's QR code, centred on a white frame: what
    Chromium's --use-file-for-fake-video-capture plays as the camera (looping)."""
    png = io.BytesIO()
    # The same QR as documents.qr_svg draws for the voucher (full QR, error level M).
    segno.make_qr(code, error="m").save(png, kind="png", scale=8, border=4)
    qr = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    frame.paste(qr, ((WIDTH - qr.width) // 2, (HEIGHT - qr.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path


def _sign_in(page, live_server, email):
    page.goto(live_server + "/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _watch_errors(page):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_the_camera_reads_the_voucher_qr_into_the_code_field(city, browser, live_server, tmp_path, screenshot):
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    video = qr_video(voucher.code, tmp_path / "qr.y4m")
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    try:
        context = camera_browser.new_context(locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(15000)
        problems = _watch_errors(page)
        _sign_in(page, live_server, city.member.email)
        page.goto(live_server + "/vouchers/desk")
        code = page.get_by_label("Voucher code")
        expect(code).to_have_value("")
        page.get_by_role("button", name="Scan QR code").click()
        expect(code).to_have_value(voucher.code)
        expect(page.get_by_role("status")).to_contain_text("Code read:")
        # The camera is released and the desk goes on as if the code had been typed.
        expect(page.locator("video")).to_be_hidden()
        expect(page.get_by_label("Amount")).to_be_focused()
        screenshot("desk-code-scanned", page)
        page.get_by_label("Amount").fill("12.50")
        page.get_by_role("button", name="Redeem").click()
        expect(page.get_by_text(f"Redeemed €12.50 on {voucher.code}")).to_be_visible()
        assert not problems, problems
    finally:
        camera_browser.close()


def test_a_qr_code_that_is_not_a_voucher_is_not_typed_in(city, browser, live_server, tmp_path):
    video = qr_video("https://example.org/some/page", tmp_path / "other.y4m")
    camera_browser = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    try:
        page = camera_browser.new_context(locale="en-GB").new_page()
        page.set_default_timeout(15000)
        _sign_in(page, live_server, city.member.email)
        page.goto(live_server + "/vouchers/desk")
        page.get_by_role("button", name="Scan QR code").click()
        expect(page.get_by_role("status")).to_contain_text("not a voucher code")
        expect(page.get_by_label("Voucher code")).to_have_value("")
        # Still looking: the camera stays on until stopped.
        page.get_by_role("button", name="Stop the camera").click()
        expect(page.get_by_role("status")).to_contain_text("Camera stopped")
        expect(page.locator("video")).to_be_hidden()
    finally:
        camera_browser.close()


def test_without_a_camera_the_desk_says_so_and_typing_works(city, page, live_server):
    """The default test browser has no camera and no one to grant it: the scanner explains
    itself in the page's language and the code is typed as before."""
    problems = _watch_errors(page)
    _sign_in(page, live_server, city.member.email)
    page.goto(live_server + "/vouchers/desk")
    page.get_by_role("button", name="Scan QR code").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("Type the code instead")
    expect(page.get_by_role("button", name="Scan QR code")).to_be_visible()
    expect(page.locator("video")).to_be_hidden()
    expect(page.get_by_label("Voucher code")).to_be_focused()
    page.get_by_label("Voucher code").fill("ABCD-EFGH-JKMN")
    expect(page.get_by_label("Voucher code")).to_have_value("ABCD-EFGH-JKMN")
    assert not [p for p in problems if "Permission" not in p and "NotFound" not in p], problems


def test_the_decoder_reads_the_qr_image_the_app_draws(city, page, live_server):
    """The decoding step alone, on the voucher's own QR image (the SVG the app serves)."""
    voucher = issuance.issue_voucher(city.programme, city.citizen, 5000, actor=city.official)
    svg = documents.qr_svg(voucher.code, scale=6).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data_url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    _sign_in(page, live_server, city.member.email)
    page.goto(live_server + "/vouchers/desk")
    text = page.evaluate("""async (src) => {
        const image = new Image();
        image.src = src;
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth * 2; canvas.height = image.naturalHeight * 2;
        const context = canvas.getContext("2d");
        context.fillStyle = "#fff"; context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
        return await window.ProcomunQr.decodeImage(canvas);
    }""", data_url)
    assert text == voucher.code


def test_the_scanner_is_translated(city, page, live_server):
    _sign_in(page, live_server, city.member.email)
    page.goto(live_server + "/vouchers/desk")
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("button", name="Escanear el código QR")).to_be_visible()

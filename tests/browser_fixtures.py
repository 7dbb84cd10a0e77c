"""Browser tests: the app served on a loopback port by a real WSGI server in a
thread, driven by Playwright in Debian's headless Chromium (never a bundled
browser download). Screenshots land in test-artifacts/ for people to look at."""
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture
def live_server(app):
    """The test's app, served for real on 127.0.0.1 (port chosen by the OS)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                    "(.ci/run does) or set CHROMIUM_PATH.")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page, request, database_url):
    """screenshot("step-name") saves a full-page PNG under test-artifacts/<test>/."""
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    folder = ARTIFACTS / f"{request.node.module.__name__.split('.')[-1]}-{request.node.originalname}-{backend}"
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(name: str, target=None):
        path = folder / f"{next(counter):02d}-{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path
    return take

"""The map of urban commons, in Chromium: the register's GeoJSON export drawn with the vendored Leaflet,
on no tiles (the tests' setting: the points' outline on a blank background), on a tile server the city
set (its host allowed by the CSP for images only), on an unreachable one (the page still works), used by
keyboard, and replaced by the page's own list without JavaScript."""
import re
import struct
import threading
import zlib
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import create_app
from pacts import commons_register as ops
from tests.conftest import app_config
from tests.trust.test_accessibility import AXE, axe_violations

pytestmark = pytest.mark.browser

BLANK = re.compile(r"\bcommons-map-blank\b")  # drawn on blank paper, the points' outline on it


def png(rgb=(198, 224, 210), size=8) -> bytes:
    """A small plain PNG: what the local tile server answers for every tile."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


TILE = png()


@pytest.fixture
def register(world):
    """Four commons with coordinates in two neighbourhoods, and one without (on no map)."""
    for name, kind, neighbourhood, lat, lon in [("Giardino Lunetta", "green_area", "Navile", 44.515, 11.345),
                                                ("Lavatoio", "building", "Santo Stefano", 44.488, 11.36),
                                                ("Portico Saragozza", "street", "Saragozza", 44.49, 11.32)]:
        ops.save_commons(actor=world.official, name=name, kind=kind, neighbourhood=neighbourhood,
                         place=f"{name} 1", latitude=lat, longitude=lon)
    ops.save_commons(actor=world.official, name="Archivio di quartiere", kind="immaterial")
    return world


@contextmanager
def serving(wsgi_app):
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def tile_server(requests):
    def answer(environ, start_response):
        requests.append((environ["PATH_INFO"], environ.get("HTTP_REFERER")))
        start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(TILE)))])
        return [TILE]
    return answer


def app_with_tiles(database_url, tmp_path, tiles):
    return create_app({**app_config(database_url, tmp_path / "tiled"), "PROCOMUN_MAP_TILES": tiles,
                       "PROCOMUN_MAP_ATTRIBUTION": "Tiles: the city's own"})


def watch(page):
    """Script errors and refusals by the content security policy, as the page met them."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    return errors


def test_the_register_map_draws_the_points_outline_without_tiles(register, live_server, page, screenshot):
    errors = watch(page)
    page.goto(live_server + "/pacts/commons")
    the_map = page.locator("[data-commons-map]")
    expect(the_map).to_have_attribute("data-commons-map-ready", "4")
    expect(the_map).to_have_class(BLANK)
    # Every commons with coordinates, and only those, on the map; their outline drawn; no tile asked for.
    pins = page.locator(".commons-pin")
    expect(pins).to_have_count(4)
    names = sorted(pins.evaluate_all("pins => pins.map(p => p.getAttribute('aria-label'))"))
    assert names == ["Giardino Lunetta", "Lavatoio", "Piazza Verdi", "Portico Saragozza"]
    outline = page.locator("path.commons-outline")
    expect(outline).to_have_count(1)
    assert outline.get_attribute("d").count("L") >= 2  # a polygon around the points, not a dot
    assert page.locator("img.leaflet-tile").count() == 0
    # The accessible alternative: the register's own list, all five commons, under the map.
    items = page.locator("ul.list > li h2 a")
    expect(items).to_have_count(5)
    assert page.locator("ul.list").bounding_box()["y"] > the_map.bounding_box()["y"]
    screenshot("register-map-no-tiles")
    assert not errors, errors


def test_the_map_keeps_to_the_register_filters(register, live_server, page):
    page.goto(live_server + "/pacts/commons?neighbourhood=Navile")
    expect(page.locator("[data-commons-map]")).to_have_attribute("data-commons-map-ready", "2")
    page.goto(live_server + "/pacts/commons?kind=immaterial")
    # Nothing on this list has coordinates: no empty map, a sentence instead.
    expect(page.get_by_role("status")).to_have_text("None of these commons has coordinates to put on a map yet.")
    expect(page.locator("[data-commons-map]")).to_be_hidden()


def test_markers_are_buttons_a_keyboard_opens(register, live_server, page):
    page.goto(live_server + "/pacts/commons")
    expect(page.locator(".commons-pin")).to_have_count(4)
    # Tab from the filter button reaches the first commons on the map.
    page.get_by_role("button", name="Filter").focus()
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('commons-pin')"):
            break
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused, "Tab never reached a commons on the map"
    pin = page.get_by_role("button", name=focused)
    expect(pin).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    link = page.locator(".leaflet-popup a.commons-popup-name")
    expect(link).to_be_focused()
    expect(link).to_have_text(focused)
    expect(pin).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    expect(pin).to_be_focused()
    page.keyboard.press(" ")  # Space, as for any button
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(focused)


def test_a_commons_page_shows_it_on_the_map(register, live_server, page, screenshot):
    page.goto(live_server + f"/pacts/commons/{register.commons.id}")
    expect(page.locator("[data-commons-map]")).to_have_attribute("data-commons-map-ready", "4")
    current = page.locator(".commons-pin-current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("aria-label", "Piazza Verdi")
    screenshot("commons-map")
    # A commons without coordinates has no map (nor Leaflet to load).
    without = ops.all_commons()
    immaterial = next(c for c in without if not c.has_coordinates)
    page.goto(live_server + f"/pacts/commons/{immaterial.id}")
    expect(page.locator("[data-commons-map]")).to_have_count(0)
    assert page.locator("script[src*=leaflet]").count() == 0


def test_the_drawn_map_has_no_serious_accessibility_violation(register, live_server, browser):
    assert AXE.exists(), "run `make test` once: it installs axe-core into tests/trust/node_modules"
    context = browser.new_context(bypass_csp=True)  # axe is injected as a script
    page = context.new_page()
    try:
        page.goto(live_server + "/pacts/commons")
        expect(page.locator("[data-commons-map]")).to_have_attribute("data-commons-map-ready", "4")
        page.get_by_role("button", name="Lavatoio").click()  # with a commons open, too
        expect(page.locator(".leaflet-popup")).to_be_visible()
        # Leaflet fades a popup in: axe measures contrast through the opacity, so wait for the end.
        expect(page.locator(".leaflet-popup")).to_have_css("opacity", "1")
        assert axe_violations(page) == []
    finally:
        context.close()


def test_without_javascript_the_list_is_the_map(register, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server + "/pacts/commons")
        expect(page.locator("[data-commons-map]")).to_be_hidden()
        expect(page.locator("#commons-map-help")).to_be_hidden()
        expect(page.locator("ul.list > li h2 a")).to_have_count(5)
    finally:
        context.close()


def test_tiles_from_the_city_s_server_are_allowed_and_drawn(register, database_url, tmp_path, browser, screenshot):
    requests = []
    with serving(tile_server(requests)) as tiles, \
            serving(app_with_tiles(database_url, tmp_path, tiles + "/{z}/{x}/{y}.png")) as site:
        context = browser.new_context()
        page = context.new_page()
        errors = watch(page)
        try:
            response = page.goto(site + "/pacts/commons")
            policy = response.headers["content-security-policy"]
            assert f"img-src 'self' data: {tiles};" in policy
            assert tiles not in policy.replace(f"img-src 'self' data: {tiles};", "")  # images only
            expect(page.locator("img.leaflet-tile.leaflet-tile-loaded").first).to_be_visible()
            # Tiles are asked for by the site's origin (tile servers' policies want it), never the page's path.
            assert requests and all(path.endswith(".png") and referer == site + "/" for path, referer in requests)
            expect(page.locator(".leaflet-control-attribution")).to_contain_text("Tiles: the city's own")
            expect(page.locator("[data-commons-map]")).not_to_have_class(BLANK)
            screenshot("register-map-tiles", target=page)
            assert not errors, errors
        finally:
            context.close()


def test_an_unreachable_tile_server_leaves_a_working_map(register, database_url, tmp_path, browser):
    # Port 9 (discard) on this machine: nothing listens, every tile fails at once.
    with serving(app_with_tiles(database_url, tmp_path, "http://127.0.0.1:9/{z}/{x}/{y}.png")) as site:
        context = browser.new_context()
        page = context.new_page()
        errors = watch(page)
        try:
            page.goto(site + "/pacts/commons", wait_until="domcontentloaded")
            the_map = page.locator("[data-commons-map]")
            expect(the_map).to_have_attribute("data-commons-map-ready", "4")
            # The tiles that never came give way to the outline of the points.
            expect(the_map).to_have_class(BLANK)
            expect(page.locator("path.commons-outline")).to_have_count(1)
            page.get_by_role("button", name="Lavatoio").click()
            expect(page.locator(".leaflet-popup a.commons-popup-name")).to_have_text("Lavatoio")
            expect(page.locator("ul.list > li h2 a")).to_have_count(5)
            assert not errors, errors
        finally:
            context.close()

"""axe-core, run inside Chromium on the demo city: every public page and every
page with a form (one of each route, as each of its people sees it) has no
serious or critical violation. `make test` installs axe-core from the npm
registry into tests/trust/node_modules when it is missing."""
from pathlib import Path

import pytest

from app.demo import DEMO_PASSWORD

from .crawl import PEOPLE, load_demo, walk

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


def sign_in(page, base, email):
    page.goto(f"{base}/account/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit], main form input[type=submit]").first.click()
    page.wait_for_load_state()


def axe_violations(page) -> list:
    """Serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
          .map(v => ({id: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return result


def pages_to_check(app, people):
    """One URL per route per person: every public page, and every page with a form."""
    urls, seen = [], set()
    for who in people:
        for visit in walk(app, who, per_route=1):
            if not visit.html or visit.status != 200:
                continue
            has_form = any(f.method == "POST" and len(f.fields) > 1 for f in visit.forms)
            route = (visit.url.split("?")[0].rstrip("0123456789"), has_form)
            if who != "anonymous" and not has_form:
                continue
            if route in seen:
                continue
            seen.add(route)
            urls.append((who, visit.url))
    return urls


def check_pages(app, live_server, browser, capsys, people, minimum):
    assert AXE.exists(), "run `make test` once: it installs axe-core into tests/trust/node_modules"
    load_demo(app)
    urls = pages_to_check(app, people)
    problems, checked = [], 0
    contexts = {}
    try:
        for who, url in urls:
            if who not in contexts:
                # axe is injected as a script: the page's CSP (no inline script) would refuse it.
                context = browser.new_context(locale="en-GB", bypass_csp=True)
                page = context.new_page()
                page.set_default_timeout(15000)
                if PEOPLE[who]:
                    sign_in(page, live_server, PEOPLE[who])
                contexts[who] = (context, page)
            page = contexts[who][1]
            if checked == 0:  # the checker itself sees a known fault (an image without text)
                page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
                assert [v["id"] for v in axe_violations(page)] == ["image-alt"]
            page.goto(live_server + url)
            checked += 1
            for v in axe_violations(page):
                problems.append(f"{who} {url}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}")
    finally:
        for context, _page in contexts.values():
            context.close()
    with capsys.disabled():
        print(f"\naxe: {checked} pages checked")
    assert checked >= minimum
    assert not problems, "\n".join(problems)


def test_no_serious_accessibility_violation_on_public_pages(app, live_server, browser, capsys):
    check_pages(app, live_server, browser, capsys, ["anonymous"], 20)


@pytest.mark.slow
def test_no_serious_accessibility_violation_on_any_page_or_form(app, live_server, browser, capsys):
    check_pages(app, live_server, browser, capsys, list(PEOPLE), 50)

"""The demo city, walked as each of its people would: every page reachable by
links from the home page, signed in as each demo account, and the forms on them.

The walk keeps at most a few URLs per route (the URL map says which route a
link is), so it covers every page kind without visiting every record."""
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from werkzeug.exceptions import HTTPException

from app.demo import DEMO_PASSWORD
from tests.conftest import login

# The demo accounts, one per kind of person (see app/demo.py).
PEOPLE = {
    "anonymous": None,
    "citizen": "citizen@villanova.example",
    "coop": "coop@villanova.example",
    "council": "council@villanova.example",
    "official": "official@villanova.example",
    "admin": "admin@villanova.example",
    "moderator": "moderator@villanova.example",
}
NOT_HTML = (".pdf", ".json", ".csv", ".ics", ".png", ".svg", ".jsonl", ".txt", ".xml", ".zip")


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: dict = field(default_factory=dict)  # name -> (kind, [choices], default)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form("", a.get("action") or "", (a.get("method") or "get").upper())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else tag
            if kind in ("submit", "button", "image", "reset"):
                return
            entry = self._form.fields.setdefault(a["name"], [kind, [], a.get("value", "")])
            if kind in ("checkbox", "radio"):
                entry[1].append(a.get("value", "on"))
            if tag == "select":
                self._select = entry
        elif tag == "option" and self._select is not None:
            self._select[1].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse(html: str, url: str):
    parser = _Parser()
    parser.feed(html)
    for form in parser.forms:
        form.page = url
        form.action = urljoin(url, form.action) if form.action else url
    return parser.links, parser.forms


def demo_client(app, who):
    client = app.test_client()
    if PEOPLE[who]:
        login(client, PEOPLE[who], DEMO_PASSWORD)
    return client


def load_demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output


@dataclass
class Visit:
    who: str
    url: str
    status: int
    html: str
    forms: list


def walk(app, who, *, per_route=2, limit=400, client=None):
    """Every page `who` reaches by following links from the home page (HTML pages only)."""
    client = client or demo_client(app, who)
    adapter = app.url_map.bind("localhost")
    seen, per_endpoint, queue, visits = set(), {}, ["/"], []
    while queue and len(visits) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        path = urlsplit(url).path
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except HTTPException:
            continue
        if endpoint == "static" or path.endswith(NOT_HTML):
            continue
        if per_endpoint.get(endpoint, 0) >= per_route:
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(url)
        html = response.get_data(as_text=True)
        if not response.content_type.startswith("text/html"):
            visits.append(Visit(who, url, response.status_code, "", []))
            continue
        links, forms = parse(html, url)
        visits.append(Visit(who, url, response.status_code, html, forms))
        for link in links:
            target, _ = urldefrag(urljoin(url, link))
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "localhost":
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local.startswith("/") and "logout" not in local and local not in seen:
                queue.append(local)
    return visits

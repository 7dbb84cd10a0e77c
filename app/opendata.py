"""What every open-data export shares: one URL space (/open-data/…), the list of datasets
shown on /open-data with what each field means, the licence (a `Link: rel="license"` header on
every file, a `license` field in the JSON that can carry one), CORS for readers on other sites,
and output written row by row (CSV, and JSON documents too big to hold in memory)."""
import csv
import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import wraps
from pathlib import Path

from flask import Response, current_app, make_response, request, send_file
from flask_babel import get_locale
from werkzeug.wsgi import wrap_file

from .pagecache import PUBLIC_CONTENT, current_version
from .security import public

# The licences a city usually chooses, by SPDX id (setting PROCOMUN_OPEN_DATA_LICENSE; a URL works too).
LICENSES = {  # the keys are app.config.OPEN_DATA_LICENSES
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "IODL-2.0": "https://www.dati.gov.it/iodl/2.0/",
}


def licence_url() -> str:
    chosen = current_app.config.get("PROCOMUN_OPEN_DATA_LICENSE", "CC-BY-4.0")
    return LICENSES.get(chosen, chosen)


def licence_name() -> str:
    chosen = current_app.config.get("PROCOMUN_OPEN_DATA_LICENSE", "CC-BY-4.0")
    return chosen if chosen in LICENSES else chosen.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    title: object          # a lazy translated string
    endpoint: str
    format: str            # "JSON", "CSV", "GeoJSON", "OCDS JSON", "Popolo JSON"…
    description: object = ""
    fields: tuple = ()     # (field, what it means): shown beside the file on /open-data


class OpenData:
    """A module's open-data files. Declared in its opendata.py as

        opendata = OpenData("pacts")

        @opendata.route("/pacts.json", _l("Collaboration pacts"), "JSON")
        def pacts_json(): ...

    and served at /open-data/pacts.json under the endpoint "pacts.pacts_json",
    listed on the open-data page with `fields` ({name: what it means}). Always public,
    readable from any site (CORS) and sent with its licence."""

    def __init__(self, name: str):
        self.name = name
        self.routes: list[tuple[str, object]] = []
        self.datasets: list[Dataset] = []

    def route(self, rule: str, title=None, format: str = "JSON", description="", fields=None):
        def decorator(view):
            if title is not None:  # a listed dataset: the whole register, served from the cache
                view = cached_export(view)
            view = open_file(view)
            public(view)
            self.routes.append((rule, view))
            if title is not None:
                self.datasets.append(Dataset(title, f"{self.name}.{view.__name__}", format, description,
                                             tuple((fields or {}).items())))
            return view
        return decorator

    def register(self, app) -> None:
        for rule, view in self.routes:
            app.add_url_rule("/open-data" + rule, endpoint=f"{self.name}.{view.__name__}", view_func=view)


def readable_anywhere(view):
    """A page on any site may read the answer (CORS; a plain GET needs no preflight, and no
    cookie is sent cross-site to these public files)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    return wrapped


def open_file(view):
    """An open-data file: readable from any site, and saying its licence."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers.add("Link", f'<{licence_url()}>; rel="license"')
        return response
    return wrapped


def cached_export(view):
    """Serve a whole-register export from a file rebuilt at most every
    PROCOMUN_OPEN_DATA_CACHE_SECONDS (production default 300; 0 turns it off).

    An export reads every row of its register: at a national scale that is seconds
    per request and grows with the data, while the data changes rarely. The file is
    shared by every worker (instance/open-data-cache), replaced atomically, keyed by
    the endpoint, language and query string (never the request's host: links come from
    PROCOMUN_BASE_URL), and sent with sendfile. It is rebuilt at once when moderation hides or
    restores an item (app/pagecache.PUBLIC_CONTENT). A gzip copy is
    made with it and sent to clients that accept gzip: the register grows with the city,
    and compressed it is several times fewer bytes to send."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        ttl = current_app.config.get("PROCOMUN_OPEN_DATA_CACHE_SECONDS", 0)
        if not ttl:
            return view(*args, **kwargs)
        identity = f"{request.endpoint}|{get_locale()}|{request.query_string.decode()}"
        folder = Path(current_app.instance_path) / "open-data-cache"
        body = folder / hashlib.sha256(identity.encode()).hexdigest()[:32]
        meta = body.with_suffix(".json")
        packed = body.with_suffix(".gz")

        version = current_version(PUBLIC_CONTENT)

        def fresh():
            try:
                return (time.time() - body.stat().st_mtime < ttl and packed.exists()
                        and json.loads(meta.read_text()).get("version") == version)
            except (OSError, ValueError):
                return False

        if not fresh():
            folder.mkdir(parents=True, exist_ok=True)
            # One rebuild at a time: requests arriving meanwhile wait for it, then read its file.
            with open(body.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not fresh():
                    response = view(*args, **kwargs)
                    if response.status_code != 200:
                        return response
                    for path, write in ((meta, lambda h: h.write(json.dumps(
                            {"mimetype": response.mimetype, "version": version,
                             "disposition": response.headers.get("Content-Disposition")}).encode())),
                            (packed, lambda h: _gzip_into(h, response)),
                            (body, lambda h: _copy_plain(h, packed))):
                        handle = tempfile.NamedTemporaryFile(dir=folder, delete=False)
                        with handle:
                            write(handle)
                        os.replace(handle.name, path)
                    response.close()
        info = json.loads(meta.read_text())
        compressed = request.accept_encodings["gzip"] > 0
        answer = send_file(packed if compressed else body, mimetype=info["mimetype"], conditional=True, max_age=60)
        if compressed:
            answer.headers["Content-Encoding"] = "gzip"
        answer.vary.add("Accept-Encoding")
        if info["disposition"]:
            answer.headers["Content-Disposition"] = info["disposition"]
        return answer
    return wrapped


def _gzip_into(handle, response) -> None:
    # mtime=0: the same export gives the same bytes.
    with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=5, mtime=0) as packed:
        for chunk in response.response:
            packed.write(chunk if isinstance(chunk, bytes) else chunk.encode())


def _copy_plain(handle, packed: Path) -> None:
    with gzip.open(packed, "rb") as source:
        shutil.copyfileobj(source, handle, 1024 * 1024)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(row):
    """A text cell a spreadsheet would run as a formula (=HYPERLINK(…) in a tender's title) is
    written with a leading apostrophe, which spreadsheets show as text (OWASP's CSV injection
    advice); numbers, negative ones included, are written as they are."""
    return [f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS) else cell for cell in row]


def csv_response(header: list[str], rows, filename: str) -> Response:
    """UTF-8 CSV written row by row into a spooled file (memory stays bounded: past a few
    megabytes it is on disk) while the view's app context and database session are alive,
    then streamed. Rows read lazily after the view returned would run outside any context."""
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b")
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    writer = csv.writer(text)
    text.write("\ufeff")
    writer.writerow(header)
    writer.writerows(map(_inert, rows))
    text.flush()
    text.detach()
    spool.seek(0)
    # A text/* mimetype gets "; charset=utf-8" from Werkzeug: naming it here would send it twice.
    return Response(wrap_file(request.environ, spool, buffer_size=64 * 1024), mimetype="text/csv",
                    direct_passthrough=True,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def json_document(head: dict, key: str, items, tail=dict, filename: str | None = None,
                  mimetype: str = "application/json") -> Response:
    """A JSON object too big for memory: the fields of `head`, then `key` holding each of
    `items` (each already JSON text, written as it is: a stored release keeps its bytes), then
    the fields `tail()` returns once the items are written (a next page's link). Written into a
    spooled file while the view's context is alive, as csv_response does, then streamed."""
    spool = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b")
    write = spool.write
    write(b"{")
    for name, value in head.items():
        write(json.dumps(name).encode() + b":" + json.dumps(value, ensure_ascii=False).encode("utf-8") + b",")
    write(json.dumps(key).encode() + b":[")
    for n, item in enumerate(items):
        write((b"," if n else b"") + item.encode("utf-8"))
    write(b"]")
    for name, value in tail().items():
        write(b"," + json.dumps(name).encode() + b":" + json.dumps(value, ensure_ascii=False).encode("utf-8"))
    write(b"}")
    spool.seek(0)
    headers = {"Content-Disposition": f'inline; filename="{filename}"'} if filename else {}
    return Response(wrap_file(request.environ, spool, buffer_size=64 * 1024), mimetype=mimetype,
                    direct_passthrough=True, headers=headers)

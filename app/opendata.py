"""What every open-data export shares: one URL space (/open-data/…), the list
of datasets shown on /open-data, and streamed CSV output."""
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

from flask import Response, current_app, request, send_file
from flask_babel import get_locale
from werkzeug.wsgi import wrap_file

from .pagecache import PUBLIC_CONTENT, current_version
from .security import public


@dataclass(frozen=True)
class Dataset:
    title: object          # a lazy translated string
    endpoint: str
    format: str            # "JSON", "CSV", "GeoJSON", "OCDS JSON", "Popolo JSON"…
    description: object = ""


class OpenData:
    """A module's open-data files. Declared in its opendata.py as

        opendata = OpenData("pacts")

        @opendata.route("/pacts.json", _l("Collaboration pacts"), "JSON")
        def pacts_json(): ...

    and served at /open-data/pacts.json under the endpoint "pacts.pacts_json",
    listed on the open-data page. Always public."""

    def __init__(self, name: str):
        self.name = name
        self.routes: list[tuple[str, object]] = []
        self.datasets: list[Dataset] = []

    def route(self, rule: str, title=None, format: str = "JSON", description=""):
        def decorator(view):
            if title is not None:  # a listed dataset: the whole register, served from the cache
                view = cached_export(view)
            public(view)
            self.routes.append((rule, view))
            if title is not None:
                self.datasets.append(Dataset(title, f"{self.name}.{view.__name__}", format, description))
            return view
        return decorator

    def register(self, app) -> None:
        for rule, view in self.routes:
            app.add_url_rule("/open-data" + rule, endpoint=f"{self.name}.{view.__name__}", view_func=view)


def cached_export(view):
    """Serve a whole-register export from a file rebuilt at most every
    PROCOMUN_OPEN_DATA_CACHE_SECONDS (production default 300; 0 turns it off).

    An export reads every row of its register: at a national scale that is seconds
    per request and grows with the data, while the data changes rarely. The file is
    shared by every worker (instance/open-data-cache), replaced atomically, keyed by
    the endpoint, host, language and query string, and sent with sendfile. It is rebuilt
    at once when moderation hides or restores an item (app/pagecache.PUBLIC_CONTENT). A gzip copy is
    made with it and sent to clients that accept gzip: the register grows with the city,
    and compressed it is several times fewer bytes to send."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        ttl = current_app.config.get("PROCOMUN_OPEN_DATA_CACHE_SECONDS", 0)
        if not ttl:
            return view(*args, **kwargs)
        identity = f"{request.endpoint}|{request.host_url}|{get_locale()}|{request.query_string.decode()}"
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

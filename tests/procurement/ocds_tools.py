"""The OCDS community's own tools, run offline on the platform's open data, as a harvester runs them.

libcoveocds (the library of the OCDS Data Review Tool) and ocdskit read the standard from a local
zip (tests/data/ocds-1.1/standard-1__1__5-schema.zip: the `schema/` folder of the standard's
repository at tag 1__1__5), and fetch the extensions a package declares with the requests session
of ocdsextensionregistry. That session is given transport adapters (requests' own plug-in point,
like requests-file) that answer the pinned sustainability extension's URLs from its zip
(tests/data/ocds-1.1/extensions/), the standard's schema URLs from the standard's zip, and the
platform's own extension URLs from the app under test; every other URL is refused, so nothing here
can reach the network, and an extension that is not where the package says fails the check.
(jsonref, which libcove uses to dereference a record package's schema, gets the same session.)"""
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import jsonref
import libcoveocds.api
import requests
from libcoveocds.config import LibCoveOCDSConfig
from ocdsextensionregistry import util as registry_util
from ocdsextensionregistry.exceptions import DoesNotExist
from ocdsextensionregistry.profile_builder import ProfileBuilder
from urllib3.response import HTTPResponse

from procurement.releases import SUSTAINABILITY_COMMIT, SUSTAINABILITY_EXTENSION

DATA = Path(__file__).resolve().parents[1] / "data" / "ocds-1.1"
STANDARD_ZIP = DATA / "standard-1__1__5-schema.zip"
SUSTAINABILITY_ZIP = DATA / "extensions" / "ocds_sustainability_extension-b8d93a0.zip"
STANDARD = "https://standard.open-contracting.org/schema/1__1__5/"
ARCHIVES = "https://github.com/open-contracting-extensions/ocds_sustainability_extension/archive/"


class _Answers(requests.adapters.HTTPAdapter):
    """Answers each request with `answer(url) -> (status, bytes)`, as a real HTTP answer would
    come (requests-cache keeps it like any other)."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def send(self, request, **kwargs):
        status, body = self.answer(request.url)
        raw = HTTPResponse(body=io.BytesIO(body), status=status, preload_content=False, request_url=request.url,
                           headers={"Content-Length": str(len(body))}, reason="OK" if status == 200 else "Not Found")
        return self.build_response(request, raw)


def _refuse(url):
    raise requests.ConnectionError(f"tests never reach the network: {url}")


@contextmanager
def offline_extensions(client, base_url: str):
    """Serve the declared extensions locally while the block runs (see the module's docstring)."""
    sustainability = SUSTAINABILITY_EXTENSION.rsplit("/", 1)[0] + "/"
    with zipfile.ZipFile(SUSTAINABILITY_ZIP) as archive:
        root = archive.namelist()[0]
        files = {name[len(root):]: archive.read(name) for name in archive.namelist() if not name.endswith("/")}

    def from_zip(url):
        name = url[len(sustainability):]
        return (200, files[name]) if name in files else (404, b"")

    def the_zip(url):  # the registry downloads a GitHub extension's archive when it can
        return (200, SUSTAINABILITY_ZIP.read_bytes()) if url.endswith(f"/{SUSTAINABILITY_COMMIT}.zip") else (404, b"")

    with zipfile.ZipFile(STANDARD_ZIP) as archive:
        root = archive.namelist()[0] + "schema/"
        standard = {name[len(root):]: archive.read(name) for name in archive.namelist()
                    if name.startswith(root) and not name.endswith("/")}

    def from_standard(url):
        name = url[len(STANDARD):]
        return (200, standard[name]) if name in standard else (404, b"")

    def from_app(url):
        answer = client.get(url[len(base_url):])
        return answer.status_code, answer.get_data()

    session = registry_util.session
    saved = dict(session.adapters)
    session.mount("http://", _Answers(_refuse))
    session.mount("https://", _Answers(_refuse))
    session.mount(sustainability, _Answers(from_zip))
    session.mount(ARCHIVES, _Answers(the_zip))
    session.mount(STANDARD, _Answers(from_standard))
    session.mount(base_url + "/open-data/", _Answers(from_app))
    session.cache.clear()
    # jsonref (libcove dereferences a record package's schema with it) fetches with requests.get:
    # it gets the same session.
    loader = jsonref.requests
    jsonref.requests = session
    try:
        yield
    finally:
        jsonref.requests = loader
        session.adapters.clear()
        session.adapters.update(saved)
        session.cache.clear()


def libcove(package: dict, *, record_package: bool = False) -> dict:
    """libcoveocds's report on `package`, with every additional check, offline."""
    config = LibCoveOCDSConfig()
    config.config.update(standard_zip=f"file://{STANDARD_ZIP}", additional_checks="all", context="api")
    folder = Path(tempfile.mkdtemp(prefix="libcove-"))
    try:
        path = folder / "package.json"
        path.write_text(json.dumps(package))
        return libcoveocds.api.ocds_json_output(str(folder), str(path), None, convert=False,
                                                lib_cove_ocds_config=config, record_pkg=record_package or None)
    finally:
        shutil.rmtree(folder)


def unreadable_extensions(package: dict) -> dict:
    """{url: why} for each declared extension whose metadata (extension.json) cannot be read: what
    libcove reports in its web context (in its API context it only notices a schema it cannot read)."""
    unreadable = {}
    for extension in ProfileBuilder("1__1__5", package["extensions"],
                                    standard_base_url=f"file://{STANDARD_ZIP}").extensions():
        try:
            extension.metadata
        except (requests.RequestException, DoesNotExist, json.JSONDecodeError) as error:
            unreadable[extension.input_url] = repr(error)
    return unreadable


def patched_release_schema(extensions: list[str]) -> dict:
    """OCDS 1.1.5's release schema patched with `extensions`, by the registry's ProfileBuilder."""
    builder = ProfileBuilder("1__1__5", extensions, standard_base_url=f"file://{STANDARD_ZIP}")
    return builder.patched_release_schema()


def ocdskit_compile(package: dict) -> dict:
    """`ocdskit compile --package --versioned --schema <patched schema>` on a release package,
    run as the command a harvester types."""
    folder = Path(tempfile.mkdtemp(prefix="ocdskit-"))
    try:
        schema = folder / "release-schema.json"
        schema.write_text(json.dumps(patched_release_schema(package["extensions"])))
        done = subprocess.run([sys.executable, "-m", "ocdskit", "compile", "--package", "--versioned",
                               "--schema", str(schema)], input=json.dumps(package), capture_output=True,
                              text=True, timeout=300, check=True)
        return json.loads(done.stdout)
    finally:
        shutil.rmtree(folder)

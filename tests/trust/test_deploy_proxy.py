"""The shipped deployment (deploy/): Debian's nginx, configured as deploy/nginx/procomun.conf says,
in front of gunicorn run as gunicorn.conf.py says, both on loopback ports.

The slow-client probe of issue #17: 50 sockets each send a request's first line, then one header
line every 5 s, for 30 s, and never finish; meanwhile a health probe every half second must be
answered within a second. Through nginx every probe is; straight to gunicorn (2 workers x 16
threads) they are printed for comparison, not asserted (that is what the proxy is for). Slow:
`make check-slow` (which installs nginx if it is missing)."""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.accounts.models import Throttle
from app.accounts.signin import address_key
from app.books.notes import generate_key
from app.config import ROOT
from app.extensions import db

# Timed answers (ANSWER_WITHIN): run with the machine to itself (Makefile, check-slow).
pytestmark = [pytest.mark.slow, pytest.mark.alone]

SLOW_CLIENTS = 50
PROBE_SECONDS = 30
LINE_EVERY = 5
PROBE_EVERY = 0.5
ANSWER_WITHIN = 1.0
UNITS = ROOT / "deploy" / "systemd"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped: {process.stdout.read() if process.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not listen on {port}")


def _wait_for_answers(port: int, process: subprocess.Popen, seconds: float = 180) -> None:
    """gunicorn's master listens before its workers have imported the app (seconds on a busy
    machine): wait for /healthz itself, so no probe or request counts the workers' start-up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped: {process.stdout.read() if process.stdout else ''}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": "procomun.test"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"gunicorn did not answer /healthz on {port} within {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def nginx():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed: `apt-get install -y nginx` (make check-slow and .ci/run do it)")
    return found


@pytest.fixture
def certificate(tmp_path):
    """A throwaway self-signed certificate in place of the site's (deploy/README.md: certbot)."""
    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    # P-256, as a city's certificate may well be: a handshake per probe costs little on a busy machine.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj",
                    "/CN=procomun.test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def rendered_site(http_port: int, https_port: int, app_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/procomun.conf as a city would install it, with loopback ports and test paths."""
    text = (ROOT / "deploy" / "nginx" / "procomun.conf").read_text()
    for placeholder, value in (("listen [::]:80;", ""), ("listen [::]:443 ssl http2;", ""),
                               ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                               ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                               ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
                               ("/etc/ssl/procomun/fullchain.pem", str(cert)),
                               ("/etc/ssl/procomun/privkey.pem", str(key)),
                               ("/srv/procomun/static/", f"{ROOT / 'static'}/")):
        assert placeholder in text, placeholder
        text = text.replace(placeholder, value)
    return text


def _main_config(folder: Path, site: str) -> Path:
    (folder / "site.conf").write_text(site)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir(exist_ok=True)
    main = folder / "nginx.conf"
    main.write_text(f"""
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    return main


@pytest.fixture
def served(app, database_url, tmp_path, nginx, certificate):
    """gunicorn (gunicorn.conf.py, production settings) and nginx in front of it."""
    app_port, http_port, https_port = _free_port(), _free_port(), _free_port()
    books_key = tmp_path / "books-key.pem"
    generate_key(books_key)
    offline_key = tmp_path / "offline.key"
    offline_key.write_text("44" * 32)
    env = dict(os.environ, PROCOMUN_ENV="production", SECRET_KEY="s" * 48, AUDIT_KEY="a" * 48,
               PROCOMUN_BOOKS_KEY_FILE=str(books_key), PROCOMUN_OFFLINE_KEY_FILE=str(offline_key),
               DATABASE_URL=database_url, PROCOMUN_BASE_URL="https://procomun.test", PROCOMUN_TRUSTED_PROXIES="1",
               GUNICORN_BIND=f"127.0.0.1:{app_port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="16",
               PYTHONPATH=str(ROOT))
    gunicorn = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                                 "app:create_app()"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "nginx"
    folder.mkdir()
    main = _main_config(folder, rendered_site(http_port, https_port, app_port, *certificate))
    checked = subprocess.run([nginx, "-t", "-c", str(main), "-p", str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen([nginx, "-c", str(main), "-p", str(folder), "-g", "daemon off;"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(app_port, gunicorn, "gunicorn")
        _wait_for_answers(app_port, gunicorn)
        _wait_for(https_port, proxy, "nginx")
        yield {"app": app_port, "http": http_port, "https": https_port}
    finally:
        _stop(proxy)
        _stop(gunicorn)


def _context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _connect(port: int, tls: bool):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return _context().wrap_socket(sock, server_hostname="procomun.test") if tls else sock


def _slow_client(port: int, tls: bool, stop: threading.Event, opened: list) -> None:
    """A request that never ends: its first line, then a header line every LINE_EVERY seconds."""
    try:
        sock = _connect(port, tls)
        opened.append(1)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: procomun.test\r\n")
        while not stop.wait(LINE_EVERY):
            sock.sendall(b"X-Slow: still-typing\r\n")
    except OSError:
        pass  # the server gave up on it: fine, that is one way of not being starved
    finally:
        try:
            sock.close()
        except (OSError, UnboundLocalError):
            pass


def _health(port: int, tls: bool) -> float | None:
    """Seconds to answer GET /healthz with 200, or None if not within ANSWER_WITHIN (or refused)."""
    started = time.monotonic()
    try:
        if tls:
            connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=ANSWER_WITHIN, context=_context())
        else:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_WITHIN)
        connection.request("GET", "/healthz", headers={"Host": "procomun.test"})
        status = connection.getresponse().status
        connection.close()
    except OSError:
        return None
    took = time.monotonic() - started
    return took if status == 200 and took <= ANSWER_WITHIN else None


def probe(port: int, tls: bool) -> list:
    """The probe of issue #17: slow clients for PROBE_SECONDS, health checked all along."""
    stop, opened = threading.Event(), []
    slow = [threading.Thread(target=_slow_client, args=(port, tls, stop, opened), daemon=True)
            for _ in range(SLOW_CLIENTS)]
    for thread in slow:
        thread.start()
    time.sleep(1)  # every slow client connected and started its request
    answers, until = [], time.monotonic() + PROBE_SECONDS
    while time.monotonic() < until:
        answers.append(_health(port, tls))
        time.sleep(PROBE_EVERY)
    stop.set()
    for thread in slow:
        thread.join(timeout=10)
    assert len(opened) == SLOW_CLIENTS
    return answers


def _summary(answers: list) -> str:
    times = sorted(a for a in answers if a is not None)
    slowest = f"{times[-1] * 1000:.0f} ms" if times else "-"
    return f"{len(times)} of {len(answers)} answered within {ANSWER_WITHIN:.0f} s (slowest {slowest})"


def test_behind_the_shipped_proxy_slow_clients_starve_nobody(served, capsys):
    direct = probe(served["app"], tls=False)
    proxied = probe(served["https"], tls=True)
    with capsys.disabled():
        print(f"\nslow-client probe ({SLOW_CLIENTS} sockets, a header line every {LINE_EVERY} s, {PROBE_SECONDS} s):"
              f"\n  gunicorn alone (2 workers x 16 threads): {_summary(direct)}"
              f"\n  through nginx (deploy/nginx/procomun.conf): {_summary(proxied)}")
    assert None not in proxied, _summary(proxied)
    assert len(proxied) >= PROBE_SECONDS  # a probe every half second, all along


def test_the_proxy_redirects_to_https_and_passes_the_clients_address(served):
    plain = http.client.HTTPConnection("127.0.0.1", served["http"], timeout=15)
    plain.request("GET", "/pacts/?page=2", headers={"Host": "procomun.test"})
    answer = plain.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == "https://procomun.test/pacts/?page=2"
    # A client's own X-Forwarded-For is dropped: the app sees the address nginx saw. The sign-in
    # throttle keys on it, so a forged header cannot put a guesser on somebody else's address.
    secure = http.client.HTTPSConnection("127.0.0.1", served["https"], timeout=15, context=_context())
    site = {"Host": "procomun.test", "X-Forwarded-For": "203.0.113.9"}
    secure.request("GET", "/account/login", headers=site)
    page = secure.getresponse()
    assert page.status == 200 and page.getheader("Strict-Transport-Security")
    assert page.getheader("Server") == "nginx"  # no version number
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.read().decode()).group(1)
    cookie = page.getheader("Set-Cookie").split(";")[0]
    secure.request("POST", "/account/login", body=urlencode({"email": "ghost@example.org", "password": "guess",
                                                             "csrf_token": token}),
                   headers={**site, "Cookie": cookie, "Referer": "https://procomun.test/account/login",
                            "Content-Type": "application/x-www-form-urlencoded"})
    assert secure.getresponse().status == 200  # refused, the form again
    db.session.commit()
    keys = set(db.session.execute(select(Throttle.key)).scalars())
    assert address_key("127.0.0.1") in keys and address_key("203.0.113.9") not in keys


def test_the_systemd_units_are_valid(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package): the units were not checked")
    venv_bin = Path(sys.executable).parent
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/srv/procomun/.venv/bin/", f"{venv_bin}/")
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
                            capture_output=True, text=True)
    problems = [line for line in result.stderr.splitlines() if line.strip() and not re.search(
        r"(Failed to (connect to|create) bus|System has not been booted with systemd|Unit is bound to inactive)", line)]
    assert not problems, "\n".join(problems)

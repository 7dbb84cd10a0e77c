"""Settings, read from the environment with safe defaults.

Development (the default, what `make run` uses) runs on SQLite in the instance
folder with a secret key generated once and kept there. Production
(`PROCOMUN_ENV=production`) refuses to start without a real `SECRET_KEY`.
"""
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("en", "es", "it", "ca")
MODULES = ("pacts", "councils", "procurement", "vouchers", "accountability")
# Keys known to be public: a production app must never run with one of them.
INSECURE_SECRET_KEYS = {"", "dev", "change-me", "secret", "development"}
# Licences by SPDX id that PROCOMUN_OPEN_DATA_LICENSE may name (app/opendata.py has their URLs).
OPEN_DATA_LICENSES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "ODbL-1.0", "IODL-2.0")


# The map of urban commons: OpenStreetMap's standard tiles unless the city names its own server.
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


class ConfigError(RuntimeError):
    pass


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(env, instance_path: Path, production: bool) -> str:
    key = env.get("SECRET_KEY", "")
    if production:
        if key in INSECURE_SECRET_KEYS or len(key) < 32:
            raise ConfigError(
                "Refusing to start in production without a SECRET_KEY of at least "
                "32 random characters (set the SECRET_KEY environment variable)."
            )
        return key
    if key:
        return key
    # A per-machine key for development, never committed: instance/ is ignored by git.
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _audit_key(env, instance_path: Path, production: bool, secret_key: str) -> str:
    """The key of the audit trail's HMAC chain, kept outside the database (app/audit): with it
    alone can entries be written or rewritten so that `audit verify` accepts them."""
    key = env.get("AUDIT_KEY", "")
    if production:
        if key in INSECURE_SECRET_KEYS or len(key) < 32 or key == secret_key:
            raise ConfigError(
                "Refusing to start in production without an AUDIT_KEY of at least 32 random characters, "
                "other than the SECRET_KEY (set the AUDIT_KEY environment variable; keep a copy outside "
                "the database server: without it the audit trail cannot be verified)."
            )
        return key
    if key:
        return key
    path = instance_path / "audit_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
def _offline_key_file(env, instance_path: Path, production: bool) -> str:
    """The file of the city's Ed25519 key that signs vouchers' offline allowances (vouchers/allowances.py):
    kept outside the database, since whoever holds it can let any voucher be spent offline. Development
    and tests make one in the instance folder (a 32-byte seed, hex); production must be given one."""
    path = env.get("PROCOMUN_OFFLINE_KEY_FILE", "")
    if production:
        if not path or not Path(path).is_file():
            raise ConfigError(
                "Refusing to start in production without PROCOMUN_OFFLINE_KEY_FILE, the file of the city's "
                "Ed25519 key that signs vouchers' offline allowances (a PEM private key, or its 32-byte seed "
                "in hex; keep it outside the database server)."
            )
        return path
    if path:
        return path
    generated = instance_path / "offline_key"
    if not generated.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        generated.write_text(secrets.token_hex(32))
        generated.chmod(0o600)
    return str(generated)


def _books_key_file(env, instance_path: Path, production: bool) -> str:
    """The file of the key that signs the books' checkpoints (app/books/notes.py)."""
    path = env.get("PROCOMUN_BOOKS_KEY_FILE", "").strip()
    if production and (not path or not Path(path).is_file()):
        raise ConfigError(
            "Refusing to start in production without PROCOMUN_BOOKS_KEY_FILE, the file of the Ed25519 key "
            "that signs the books' checkpoints (make one with `openssl genpkey -algorithm ed25519 -out FILE`; "
            "keep it off the database server's disks and a copy offline).")
    return path or str(instance_path / "books_key.pem")


def _base_url(env, production: bool) -> str:
    """Every absolute link is built from this address alone (app/urls.py), never from a request's
    Host header: in production it must be given, and be https."""
    url = env.get("PROCOMUN_BASE_URL", "").strip().rstrip("/")
    if production:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                "Refusing to start in production without PROCOMUN_BASE_URL, the site's public https "
                "address (for example https://procomun.city.example): every link in emails, open data, "
                "documents and calendars is built from it.")
        return url
    return url or "http://127.0.0.1:5000"


def _licence(env) -> str:
    chosen = env.get("PROCOMUN_OPEN_DATA_LICENSE", "CC-BY-4.0").strip()
    if chosen not in OPEN_DATA_LICENSES and not chosen.startswith(("https://", "http://")):
        raise ConfigError(f"PROCOMUN_OPEN_DATA_LICENSE must be one of {', '.join(OPEN_DATA_LICENSES)} "
                          "or the URL of a licence")
    return chosen


def _scheme_name(city: str) -> str:
    """The city's own identifier scheme for the organisations it registers, e.g. X-PROCOMUN-VILLANOVA."""
    plain = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode()
    return "X-PROCOMUN-" + ("-".join(re.findall(r"[A-Za-z0-9]+", plain)).upper() or "CITY")


def _pool_options(env) -> dict:
    """DATABASE_POOL_SIZE: connections each process keeps open, at least its threads (gunicorn
    --threads). Below that, the overflow connections of a busy threaded worker are closed on
    return and opened again at once: a new PostgreSQL backend for many requests. The overflow
    is as large again because each thread also keeps its API connection
    (app.database.autocommit_connection)."""
    size = env.get("DATABASE_POOL_SIZE")
    if not size:
        return {}
    if not size.isdigit() or int(size) < 1:
        raise ConfigError("DATABASE_POOL_SIZE must be a whole number above zero")
    return {"pool_size": int(size), "max_overflow": int(size)}


def map_tile_origin(template: str) -> str:
    """Where a tile URL template ("https://{s}.tile.example.org/{z}/{x}/{y}.png") loads its images
    from, as a content-security-policy source ("https://*.tile.example.org"); "" without tiles."""
    if not template:
        return ""
    parts = urlsplit(template)
    host = parts.netloc.replace("{s}", "*")
    if (parts.scheme not in ("http", "https") or not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+(:\d+)?", host)
            or re.search(r"[\s;,'\"]", template) or not all(key in template for key in ("{z}", "{x}", "{y}"))):
        raise ConfigError("PROCOMUN_MAP_TILES must be an http(s) tile URL template with {z}, {x} and {y}, "
                          "such as " + OSM_TILES + " (or empty: no tiles)")
    return f"{parts.scheme}://{host}"


def _map_settings(env) -> dict:
    tiles = env.get("PROCOMUN_MAP_TILES", OSM_TILES).strip()
    map_tile_origin(tiles)
    # Another server's tiles carry their own terms: OpenStreetMap's credit is only the default's.
    attribution = env.get("PROCOMUN_MAP_ATTRIBUTION", OSM_ATTRIBUTION if tiles == OSM_TILES else "")
    return {"PROCOMUN_MAP_TILES": tiles, "PROCOMUN_MAP_ATTRIBUTION": attribution}
def _count(env, name: str, default: str) -> int:
    value = env.get(name, default).strip()
    if not value.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more)")
    return int(value)


def _year(env, name: str, default: str) -> int:
    value = _count(env, name, default)
    if not 1000 <= value <= 9000:  # a day's offset either side must stay within the calendar
        raise ConfigError(f"{name} must be a year from 1000 to 9000")
    return value


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting providers hand out and use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load(instance_path: Path, env=None) -> dict:
    env = os.environ if env is None else env
    production = env.get("PROCOMUN_ENV", "development") == "production"
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'procomun.sqlite'}"
    default_locale = env.get("PROCOMUN_DEFAULT_LOCALE", "en")
    secret_key = _secret_key(env, instance_path, production)
    city = env.get("PROCOMUN_CITY_NAME", "Villanova")
    if default_locale not in LOCALES:
        raise ConfigError(f"PROCOMUN_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}")
    return {
        "PROCOMUN_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "AUDIT_KEY": _audit_key(env, instance_path, production, secret_key),
        # The key of the eligibility lists' identifier hashes (vouchers/eligibility.py): kept outside the
        # database, so that a copy of it alone cannot test which national ID numbers are on a list.
        "PROCOMUN_ELIGIBILITY_KEY": env.get("PROCOMUN_ELIGIBILITY_KEY", "") or hmac.new(
            secret_key.encode(), b"procomun-eligibility", hashlib.sha256).hexdigest(),
        # Where the audit trail's head is published daily (`flask audit publish-head`): a folder
        # (one line appended per publication; mount it from another machine) and an email address.
        "PROCOMUN_AUDIT_WITNESS_DIR": env.get("PROCOMUN_AUDIT_WITNESS_DIR", ""),
        "PROCOMUN_AUDIT_WITNESS_EMAIL": env.get("PROCOMUN_AUDIT_WITNESS_EMAIL", ""),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # Connections idle for a while are pinged at checkout (app/database.py), not every one.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False, **_pool_options(env)},
        "PROCOMUN_CITY_NAME": city,
        "PROCOMUN_TIMEZONE": env.get("PROCOMUN_TIMEZONE", "Europe/Rome"),
        "PROCOMUN_CURRENCY": env.get("PROCOMUN_CURRENCY", "EUR"),
        # The city's own account, debited by the SEPA transfers that pay voucher settlements.
        "PROCOMUN_CITY_IBAN": env.get("PROCOMUN_CITY_IBAN", "").replace(" ", "").upper(),
        "PROCOMUN_CITY_BIC": env.get("PROCOMUN_CITY_BIC", "").strip().upper(),
        "PROCOMUN_CITY_ACCOUNT_NAME": env.get("PROCOMUN_CITY_ACCOUNT_NAME", city),
        "PROCOMUN_MAX_WAGE_RATIO": int(env.get("PROCOMUN_MAX_WAGE_RATIO", "8")),
        # Every date a person or a program enters lies in these years (app/dates.py:date_range).
        "PROCOMUN_DATE_MIN_YEAR": _year(env, "PROCOMUN_DATE_MIN_YEAR", "1900"),
        "PROCOMUN_DATE_MAX_YEAR": _year(env, "PROCOMUN_DATE_MAX_YEAR", "2200"),
        "PROCOMUN_MODULES": MODULES,
        # Where the site is reached from outside: every absolute link (emails, open data, documents,
        # calendars, API answers, the CLI) is built from it, never from the request's Host header.
        "PROCOMUN_BASE_URL": _base_url(env, production),
        # The licence of every open-data file: an SPDX id from OPEN_DATA_LICENSES, or a URL.
        "PROCOMUN_OPEN_DATA_LICENSE": _licence(env),
        # The identifier scheme of the city's register of organisations (OCDS parties' `identifier`),
        # and the publisher of the open data (OCDS `publisher.scheme` and `uid`: e.g. a tax-number
        # scheme from org-id.guide and the city's number; by default the city's own scheme).
        "PROCOMUN_ORGANISATION_SCHEME": env.get("PROCOMUN_ORGANISATION_SCHEME", _scheme_name(city)),
        "PROCOMUN_PUBLISHER_SCHEME": env.get("PROCOMUN_PUBLISHER_SCHEME", _scheme_name(city)),
        "PROCOMUN_PUBLISHER_UID": env.get("PROCOMUN_PUBLISHER_UID", "city"),
        # The Open Contracting prefix the city registered; every ocid starts with it.
        "PROCUREMENT_OCID_PREFIX": env.get("PROCUREMENT_OCID_PREFIX", "ocds-procomun-villanova"),
        # One page of /open-data/procurement.json (and of the record package) ends past this many
        # bytes or releases (records), with `links.next` to the following page: the OCDS hosting
        # guidance asks for files under 1 GB, under 10 MB zipped (releases compress 16-33:1 in the
        # bench, bench/README.md: 64 MiB leaves room) and under 250,000 awards or contracts (a
        # release has at most one of each).
        "PROCUREMENT_PACKAGE_MAX_BYTES": int(env.get("PROCUREMENT_PACKAGE_MAX_BYTES", str(64 * 1024 * 1024))),
        "PROCUREMENT_PACKAGE_MAX_RELEASES": int(env.get("PROCUREMENT_PACKAGE_MAX_RELEASES", "250000")),
        # Whole-register open-data exports are rebuilt at most this often (0: on every request).
        "PROCOMUN_OPEN_DATA_CACHE_SECONDS": int(env.get("PROCOMUN_OPEN_DATA_CACHE_SECONDS",
                                                        "300" if production else "0")),
        # Public pages (register, council page, open books) served to anonymous visitors from a
        # rendered copy at most this old (0: every request renders). See app/pagecache.py.
        "PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS": int(env.get("PROCOMUN_PUBLIC_PAGE_CACHE_SECONDS",
                                                          "30" if production else "0")),
        # Days the city has to answer a council's priority need (a tender, a programme or a pact);
        # later, the step is overdue and escalated (accountability/deadlines.py).
        "PROCOMUN_NEED_ANSWER_DAYS": int(env.get("PROCOMUN_NEED_ANSWER_DAYS", "90")),
        # Whether proposing a pact, and supporting a proposal, needs a verified resident (pacts/moves.py).
        "PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT": _flag(env.get("PACTS_PROPOSE_NEEDS_VERIFIED_RESIDENT")),
        "PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT": _flag(env.get("PACTS_SUPPORT_NEEDS_VERIFIED_RESIDENT")),
        # The part of a signed-in page shared by everyone who may see it (the officials' desk) is
        # rendered at most this often unless the data it shows changes first. See app/pagecache.py.
        "PROCOMUN_SHARED_CONTENT_CACHE_SECONDS": int(env.get("PROCOMUN_SHARED_CONTENT_CACHE_SECONDS",
                                                             "30" if production else "0")),
        # A whole signed-in page that declares it (the officials' desk) is kept for the session that
        # was given it, at most this long, while nothing it shows changes. See app/pagecache.py.
        "PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS": int(env.get("PROCOMUN_PERSONAL_PAGE_CACHE_SECONDS",
                                                            "30" if production else "0")),
        # The commons' map: a tile URL template ("" draws the points on a blank background) and its credit.
        **_map_settings(env),
        # Moderation (app/moderation): reports from this many different people hide an item until a
        # moderator reviews it (0: never by count); posts per account and hour (0: no limit); an
        # account's first comments held for review (0: none); how long a redacted text's original is
        # kept out of sight, in days (the legal retention period), before `moderation purge` deletes it.
        "PROCOMUN_MODERATION_HIDE_AFTER": int(env.get("PROCOMUN_MODERATION_HIDE_AFTER", "3")),
        "PROCOMUN_MODERATION_COMMENTS_PER_HOUR": int(env.get("PROCOMUN_MODERATION_COMMENTS_PER_HOUR", "10")),
        "PROCOMUN_MODERATION_PROPOSALS_PER_HOUR": int(env.get("PROCOMUN_MODERATION_PROPOSALS_PER_HOUR", "5")),
        "PROCOMUN_MODERATION_REPORTS_PER_HOUR": int(env.get("PROCOMUN_MODERATION_REPORTS_PER_HOUR", "20")),
        "PROCOMUN_MODERATION_HOLD_FIRST_POSTS": int(env.get("PROCOMUN_MODERATION_HOLD_FIRST_POSTS", "0")),
        "PROCOMUN_MODERATION_RETENTION_DAYS": int(env.get("PROCOMUN_MODERATION_RETENTION_DAYS", "180")),
        # Sign-in throttling (app/accounts/signin.py): attempts per account before it locks, and for
        # how long; failures per client address, and site-wide, within the same window.
        "PROCOMUN_LOGIN_MAX_FAILURES": int(env.get("PROCOMUN_LOGIN_MAX_FAILURES", "5")),
        "PROCOMUN_LOGIN_LOCK_MINUTES": int(env.get("PROCOMUN_LOGIN_LOCK_MINUTES", "15")),
        "PROCOMUN_LOGIN_MAX_FAILURES_PER_ADDRESS": int(env.get("PROCOMUN_LOGIN_MAX_FAILURES_PER_ADDRESS", "30")),
        "PROCOMUN_LOGIN_SITE_CEILING": int(env.get("PROCOMUN_LOGIN_SITE_CEILING", "300")),
        # How many reverse proxies (nginx: deploy/) stand in front of the app: the client's address
        # is the one the outermost of them saw (X-Forwarded-For), never a header the client wrote.
        "PROCOMUN_TRUSTED_PROXIES": _count(env, "PROCOMUN_TRUSTED_PROXIES", "0"),
        # Time credits (vouchers/time_credits.py): the most minutes one volunteer may earn in a city
        # day, and the service categories whose accredited organisations may record care (comma-separated).
        "PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES": _count(env, "PROCOMUN_TIME_CREDITS_DAILY_CAP_MINUTES", "480"),
        # Minutes given to an email with no account wait this many days for one, then go back to
        # the giver (vouchers/gifts.py: `flask vouchers gifts expire`).
        "PROCOMUN_GIFT_HOLD_DAYS": _count(env, "PROCOMUN_GIFT_HOLD_DAYS", "30"),
        # The co-op's web desk asks before charging a voucher already charged there within these
        # minutes (vouchers/desk.py); 0 never asks. The API does not: the till's idempotency keys guard it.
        "PROCOMUN_DESK_REPEAT_MINUTES": _count(env, "PROCOMUN_DESK_REPEAT_MINUTES", "5"),
        "PROCOMUN_TIME_CREDIT_CATEGORIES": [slug.strip() for slug in env.get(
            "PROCOMUN_TIME_CREDIT_CATEGORIES", "elder-care,home-care,childcare,disability-support").split(",")
            if slug.strip()],
        # The Ed25519 key that signs the books' checkpoints (app/books): a PKCS#8 PEM file outside
        # the database; made in the instance folder on first use outside production.
        "PROCOMUN_BOOKS_KEY_FILE": _books_key_file(env, instance_path, production),
        "BABEL_DEFAULT_LOCALE": default_locale,
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(
            str(ROOT / "translations" / name) for name in ("app", "notifications", "moderation", *MODULES)
        ),
        # Email (Flask-Mail's names). No MAIL_SERVER: messages land in instance/mail/ as .eml files.
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _flag(env.get("MAIL_USE_TLS")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "Procomún <no-reply@localhost>"),
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT", "30")),
        "MAIL_BATCH": int(env.get("MAIL_BATCH", "100")),
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "8")),
        # The outbox worker: recipients per fan-out or digest step (one transaction of set-based
        # statements each: 10,000 halves the digest's time against 1,000, measured at 20,000
        # holders), first retry delay (doubles each time), how long a claimed message is a
        # worker's, and the hour (city time) of the daily digest.
        "NOTIFICATIONS_BATCH": int(env.get("NOTIFICATIONS_BATCH", "10000")),
        "NOTIFICATIONS_RETRY_SECONDS": int(env.get("NOTIFICATIONS_RETRY_SECONDS", "60")),
        "NOTIFICATIONS_CLAIM_SECONDS": int(env.get("NOTIFICATIONS_CLAIM_SECONDS", "300")),
        "NOTIFICATIONS_DIGEST_HOUR": int(env.get("NOTIFICATIONS_DIGEST_HOUR", "7")),
        "SESSION_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": int(env.get("PROCOMUN_MAX_UPLOAD_BYTES", str(16 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        # Checked after every other setting, so that their refusals come first.
        "PROCOMUN_OFFLINE_KEY_FILE": _offline_key_file(env, instance_path, production),
        # The API lives under /api/v1 and documents itself there.
        "API_TITLE": "Procomún API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
            },
        },
    }

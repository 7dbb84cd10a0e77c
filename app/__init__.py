"""Procomún: the application factory.

`create_app()` builds the shared core (accounts, organisations, audit, i18n,
documents, API) and plugs in each module listed in PROCOMUN_MODULES. A module
is a package whose __init__ holds its blueprint; the factory picks up its
models, views, events, moderation, api, cli, demo and opendata files when they exist."""
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import psycopg
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import config as settings
from .api import ProcomunApi, domain_error_response, error_response, is_api_request, refuse_unreadable_json
from .cli import init_app as init_cli
from .cli import optional_submodule
from .database import end_sessions_safely, roll_back_or_drop
from .documents import DocumentError
from .error_pages import html_error
from .errors import DomainError
from .extensions import babel, csrf, db, login_manager, migrate
from .headers import SecurityHeaders, security_headers
from .i18n import init_app as init_i18n
from .i18n import select_locale, select_timezone
from .opendata import readable_anywhere
from .security import private_responses

CORE_PACKAGES = ("app.accounts", "app.organisations", "app.audit", "app.notifications", "app.moderation",
                 "app.books")


@dataclass
class ModuleInfo:
    name: str
    package: ModuleType
    demo: ModuleType | None
    datasets: list

    @property
    def blueprint(self):
        return self.package.bp


def create_app(config: dict | None = None, env=None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(settings.ROOT / "templates"),
                static_folder=str(settings.ROOT / "static"))
    instance = Path((config or {}).get("INSTANCE_PATH") or app.instance_path)
    app.instance_path = str(instance)
    app.config.from_mapping(settings.load(instance, os.environ if env is None else env))
    if config:
        app.config.update(config)

    # Ids in URLs fit the database's BIGINT: a longer number is simply not found.
    app.url_map.converters["int"] = BoundedInt
    app.session_interface = CookieSessions()
    db.init_app(app)
    end_sessions_safely(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    private_responses(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    init_i18n(app)
    api = ProcomunApi(app)
    app.extensions["procomun_api"] = api
    # The API's description is for any program, a page on another site included.
    app.view_functions["api-docs.openapi_json"] = readable_anywhere(app.view_functions["api-docs.openapi_json"])
    init_cli(app)

    _register_core(app, api)
    _register_modules(app, api)
    _register_handlers(app)
    return app


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus their work on a request that carries no session cookie
    and leaves the session untouched (every API call: bearer tokens): no Cookie header parsed, no
    signer built, no cookie settings read to write nothing."""

    def open_session(self, app, request):
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or app.config["SESSION_COOKIE_NAME"] not in request.cookies):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)


class BoundedInt(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _register_api(app, api, api_module):
    if api_module is None:
        return
    for blp in getattr(api_module, "BLUEPRINTS", None) or [api_module.blp]:
        csrf.exempt(blp)  # bearer tokens, never cookies: nothing for a forged request to ride on
        api.register_blueprint(blp)


def _register_open_data(app, opendata_module) -> list:
    opendata = getattr(opendata_module, "opendata", None)
    if opendata is None:
        return []
    opendata.register(app)
    return opendata.datasets


def _register_core(app, api):
    from . import pages
    from .accounts import bp as accounts_bp
    from .audit import bp as audit_bp
    from .books import bp as books_bp
    from .moderation import bp as moderation_bp
    from .moderation import events as moderation_events  # noqa: F401  (moderation's kinds of event)
    from .notifications import bp as notifications_bp
    from .notifications import core_events  # noqa: F401  (registers the core's kinds of event)
    from .organisations import bp as organisations_bp

    datasets = []
    for package in CORE_PACKAGES:
        optional_submodule(package, "models")
        optional_submodule(package, "views")
        optional_submodule(package, "moderation")  # register_kind(...): what of it can be moderated
        datasets += _register_open_data(app, optional_submodule(package, "opendata"))
        _register_api(app, api, optional_submodule(package, "api"))
    app.register_blueprint(pages.bp)
    for bp in (accounts_bp, organisations_bp, audit_bp, notifications_bp, moderation_bp, books_bp):
        app.register_blueprint(bp)
    app.extensions["procomun_datasets"] = datasets
    app.extensions["procomun_modules"] = {}


def _register_modules(app, api):
    for name in app.config["PROCOMUN_MODULES"]:
        package = importlib.import_module(name)
        optional_submodule(name, "models")
        optional_submodule(name, "views")
        optional_submodule(name, "events")  # register_event(...) calls: the module's kinds of notification
        optional_submodule(name, "moderation")  # register_kind(...) calls: what of it can be moderated
        optional_submodule(name, "backlinks")  # register_backlinks(...) calls: its links, from the other end
        datasets = _register_open_data(app, optional_submodule(name, "opendata"))
        app.register_blueprint(package.bp)
        _register_api(app, api, optional_submodule(name, "api"))
        cli = optional_submodule(name, "cli")
        for command in getattr(cli, "COMMANDS", []):
            app.cli.add_command(command)
        app.extensions["procomun_datasets"] += datasets
        app.extensions["procomun_modules"][name] = ModuleInfo(
            name, package, optional_submodule(name, "demo"), datasets)


def _register_handlers(app):
    # Bodies that would crash a parser or the database get a 400 before any view reads them.
    app.before_request(refuse_unreadable_json)

    @app.errorhandler(DomainError)
    def domain_error(error):
        if is_api_request():
            return domain_error_response(error)
        from werkzeug.exceptions import HTTPException
        page = HTTPException(str(error))
        page.code = error.status
        return html_error(page, message=str(error))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return html_error(error, message=_l("This form has expired or did not come from this site. "
                                             "Go back, reload the page and send it again."))

    @app.errorhandler(DocumentError)
    def document_error(error):
        # The PDF engine failed: nothing was written (documents are rendered from saved
        # records), so say so plainly instead of a stack trace.
        app.logger.error("document could not be rendered: %s", error)
        return _unavailable(503, "document_unavailable", _l(
            "The document could not be produced just now. Nothing was lost: try again later."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    # The driver's own, where SQLAlchemy lets one through unwrapped (a connection the driver saw
    # close before SQLAlchemy did): the same cause, the same answer.
    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg.InterfaceError)
    def database_unavailable(error):
        # Database gone, read-only or out of disk: the transaction was rolled back whole.
        roll_back_or_drop()
        app.logger.error("database error: %s", error)
        return _unavailable(503, "unavailable", _l(
            "The database cannot save or answer just now, so nothing was changed. "
            "Try again in a few minutes."))

    def _unavailable(status, code, message):
        if is_api_request():
            return error_response(status, code, message)
        from werkzeug.exceptions import HTTPException
        page = HTTPException(str(message))
        page.code = status
        return html_error(page, message=message)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error):
        # A number too large for the database (an id or amount typed or forged): bad input, not a crash.
        roll_back_or_drop()
        return _unavailable(422, "invalid", _l("The request is not valid."))

    app.wsgi_app = SecurityHeaders(app.wsgi_app, security_headers(
        app.config["PROCOMUN_ENV"] == "production", settings.map_tile_origin(app.config["PROCOMUN_MAP_TILES"])))
    proxies = app.config["PROCOMUN_TRUSTED_PROXIES"]
    if proxies:
        # The client's address and scheme as the outermost trusted proxy saw them; with none (the
        # default), X-Forwarded-* headers are ignored: a client could write them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from .organisations.operations import category_name
    from .urls import RowURL
    app.jinja_env.filters["category_name"] = category_name
    app.jinja_env.globals["row_url"] = RowURL

    @app.context_processor
    def layout_context():
        return {"city_name": app.config["PROCOMUN_CITY_NAME"],
                "nav_modules": app.extensions["procomun_modules"].values()}

"""FastAPI app factory: middleware, one error handler, and every domain's routes."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from saferstreets.config import DEV_SECRET, Settings, get_settings
from saferstreets.db import STORE_TROUBLE, get_engine, session_factory
from saferstreets.errors import AppError, ConfigError
from saferstreets.log_privacy import install_log_redaction
from saferstreets.migrate import require_current
from saferstreets.models_common import utcnow
from saferstreets.web.deps import STATIC_DIR, LoginRequired, settling_threads, templates
from saferstreets.web.limits import BodyLimitMiddleware
from saferstreets.web.security import SecurityHeadersMiddleware, add_security_headers

log = logging.getLogger("saferstreets.web")


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_development_secret(settings: Settings, host: str | None = None) -> None:
    """Refuse the secret key printed in the source anywhere but a development loopback server."""
    host = host if host is not None else settings.host
    if settings.secret_key != DEV_SECRET:
        return
    if settings.env != "development" or not is_loopback(host):
        where = f"env is {settings.env!r}" if settings.env != "development" else f"on {host}"
        raise ConfigError(
            f"SAFERSTREETS_SECRET_KEY is the development key from the source code ({where}); "
            "anyone could forge its CSRF tokens",
            hint="set SAFERSTREETS_SECRET_KEY to a long random value, for example from "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'",
        )


def create_app(
    settings: Settings | None = None,
    *,
    check_store: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """Build the app for ``settings``; refuses to start on a store that is not migrated, or
    with the development secret key outside a development server on loopback.

    ``clock`` (naive UTC) is what sessions and sign-in throttling read; tests inject their own.
    """
    install_log_redaction()
    settings = settings or get_settings()
    refuse_development_secret(settings)
    engine = get_engine(settings)
    if check_store:
        require_current(engine)
        settings = _named_force(settings, engine)

    app = FastAPI(
        title="saferstreets",
        version="0.1.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    app.state.clock = clock
    app.state.settlers = settling_threads()
    # A development server picks up edited templates; others read each template once instead of
    # checking its file on every page (about 4 microseconds a template, measured 2026-12-03).
    templates.env.auto_reload = settings.env == "development"

    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        staff_limit=settings.max_staff_body_bytes,
    )
    app.add_middleware(SecurityHeadersMiddleware)  # and the cookies a request queued
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    _include_routers(app)
    return app


def _named_force(settings: Settings, engine: Engine) -> Settings:
    """``settings`` with the force named as the report names it (the stored force boundary's
    name unless ``force_name`` is configured), read once at start-up."""
    from saferstreets.areas.service import force_name

    with session_factory(engine)() as session:
        name = force_name(session=session, settings=settings)
    return (
        settings
        if name == settings.force_name
        else settings.model_copy(update={"force_name": name})
    )


def _include_routers(app: FastAPI) -> None:
    """Every domain's routes, in one place (order matters where paths overlap)."""
    from saferstreets.accounts import routes as accounts_routes
    from saferstreets.accounts import routes_admin as accounts_admin_routes
    from saferstreets.actions import routes as actions_routes
    from saferstreets.areas import routes as areas_routes
    from saferstreets.basemap import routes as basemap_routes
    from saferstreets.ingest import routes as ingest_routes
    from saferstreets.ingest import routes_uploads as ingest_upload_routes
    from saferstreets.jobs import routes as jobs_routes
    from saferstreets.places import routes as places_routes
    from saferstreets.planning import routes as planning_routes
    from saferstreets.publishing import routes as publishing_routes
    from saferstreets.publishing import routes_staff as publishing_staff_routes
    from saferstreets.publishing import routes_workspace as publishing_workspace_routes
    from saferstreets.reports import routes as reports_routes
    from saferstreets.reports import routes_staff as reports_staff_routes
    from saferstreets.themes import routes as themes_routes
    from saferstreets.web import routes as core_routes

    for module in (
        reports_routes,  # first: the public form's requests, the most frequent, match at once
        core_routes,
        reports_staff_routes,
        accounts_routes,
        accounts_admin_routes,
        publishing_routes,
        publishing_staff_routes,
        publishing_workspace_routes,
        areas_routes,
        basemap_routes,
        places_routes,
        planning_routes,
        actions_routes,
        ingest_routes,
        ingest_upload_routes,
        themes_routes,
        jobs_routes,
    ):
        app.include_router(module.router)


def wants_json(request: Request) -> bool:
    path = request.url.path
    accept = request.headers.get("accept", "")
    return (
        path.startswith("/api/")
        or path.endswith(".json")
        or ("application/json" in accept and "text/html" not in accept)
    )


def error_response(
    request: Request,
    status: int,
    title: str,
    message: str,
    field_errors: dict[str, str] | None = None,
) -> Response:
    """The one way an error reaches a person: an HTML page or JSON, never a traceback."""
    if wants_json(request):
        body = {"error": {"title": title, "message": message, "fields": field_errors or {}}}
        return JSONResponse(body, status_code=status)
    staff = request.url.path.startswith("/staff")
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "field_errors": field_errors or {}, "staff": staff},
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        if isinstance(exc, LoginRequired) and not wants_json(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return error_response(request, exc.status, exc.title, exc.message, exc.field_errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Not allowed", 429: "Too many requests"}
        message = exc.detail if isinstance(exc.detail, str) else "The request could not be served."
        if exc.status_code == 404:
            message = "There is no page at this address."
        response = error_response(
            request, exc.status_code, titles.get(exc.status_code, "Error"), message
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = {
            ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path")): err["msg"]
            for err in exc.errors()
        }
        return error_response(
            request,
            422,
            "Please check what you entered",
            "Some of what was sent could not be used.",
            fields,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        if isinstance(exc, STORE_TROUBLE):
            return store_unavailable(request, exc)
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_response(
            request,
            500,
            "Something went wrong",
            "Something went wrong on our side, and what you sent may not have been saved. "
            "Please try again. If you are in danger now, call 999.",
        )
        return add_security_headers(request, response)

    def store_unavailable(request: Request, exc: Exception) -> Response:
        """The store did not answer, or refused a commit (restarting, locked): a 503 that says
        so truthfully, never a redirect that claims the change was saved."""
        log.error(
            "store unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
        )
        response = error_response(
            request,
            503,
            "We could not save this just now",
            "The service could not reach its records for a moment, so what you sent was not "
            "saved. Please try again in a minute. If you are in danger now, call 999.",
        )
        response.headers["Retry-After"] = "30"
        return add_security_headers(request, response)

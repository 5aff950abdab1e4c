"""Admin pages: accounts (``/staff/users``) and the audit trail (``/staff/audit``), and the
page on which a user sets her own password from a one-time link (``/password-reset/...``)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from saferstreets.accounts import admin, resets
from saferstreets.accounts.audit import CSV_HEADER, NOBODY, AuditQuery, audit_csv_rows, search_audit
from saferstreets.accounts.models import ROLES, User
from saferstreets.accounts.service import audit
from saferstreets.errors import ValidationFailed
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.downloads import csv_response
from saferstreets.web.security import check_csrf, csrf_token
from saferstreets.web.sessions import now

router = APIRouter()
AdminUser = Annotated[User, Depends(require_role())]  # admins only
Csrf = Annotated[str, Form(alias="csrf_token")]
Text = Annotated[str, Form(max_length=200)]
DONE = {
    "updated": "The account was changed.",
    "unchanged": "Nothing was changed.",
    "deactivated": "The account can no longer sign in; its sessions have ended.",
    "activated": "The account can sign in again.",
    "signed_out": "The account is signed out everywhere.",
}


def _choices(session: Session) -> dict[str, Any]:
    from saferstreets.actions.partners import PARTNERS
    from saferstreets.areas.models import Area

    wards = session.execute(
        sa.select(Area.code, Area.name).where(Area.kind == "ward").order_by(Area.name)
    ).all()
    return {"roles": ROLES, "partners": PARTNERS, "wards": [tuple(w) for w in wards]}


def _users_page(
    request: Request, session: Session, user: User, *, status: int = 200, **extra: Any
) -> Response:
    from saferstreets.accounts.throttle import recent_lockouts

    context = {
        "user": user,
        "csrf": csrf_token(request),
        "accounts": admin.list_accounts(session=session),
        "lockouts": recent_lockouts(session=session, now=now(request)),
        "values": {},
        "errors": {},
        **_choices(session),
        **extra,
    }
    return templates.TemplateResponse(request, "staff/users.html", context, status_code=status)


@router.get("/staff/users", include_in_schema=False)
def users_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return _users_page(request, session, user)


def _reset_link(settings: Any, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/password-reset/{token}"


@router.post("/staff/users", include_in_schema=False)
def create_account(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    csrf: Csrf = "",
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Text = "",
    role: Annotated[str, Form(max_length=16)] = "",
    wards: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    partner: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "wards": wards,
        "partner": partner,
    }
    try:
        created = admin.create_account(
            session=session,
            actor=user,
            username=username,
            display_name=display_name,
            role=role,
            wards=wards,
            partner=partner or None,
        )
    except ValidationFailed as exc:
        return _users_page(
            request,
            session,
            user,
            status=422,
            values=values,
            errors=exc.field_errors,
            message=exc.message,
        )
    token = resets.issue_reset(
        session=session,
        actor=user,
        user=created,
        now=now(request),
        hours=settings.password_reset_hours,
    )
    return _account_page(
        request, session, user, created, link=_reset_link(settings, token), new=True
    )


def _account_page(
    request: Request,
    session: Session,
    user: User,
    account: User,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    history = search_audit(
        session=session, query=AuditQuery(kind="user", record=str(account.id)), per_page=10
    )
    context = {
        "user": user,
        "csrf": csrf_token(request),
        "account": account,
        "values": {
            "display_name": account.display_name,
            "role": account.role,
            "wards": account.wards or [],
            "partner": account.partner or "",
        },
        "errors": {},
        "history": history.rows,
        "last_admin": account.role == "admin" and admin.active_admins(session=session) <= 1,
        **_choices(session),
        **extra,
    }
    return templates.TemplateResponse(request, "staff/user.html", context, status_code=status)


@router.get("/staff/users/{user_id:int}", include_in_schema=False)
def account_page(
    request: Request, session: SessionDep, user: AdminUser, user_id: int, done: str = ""
) -> Response:
    account = admin.get_account(session=session, user_id=user_id)
    return _account_page(request, session, user, account, done=DONE.get(done))


def _back(user_id: int, done: str) -> Response:
    return RedirectResponse(f"/staff/users/{user_id}?done={done}", status_code=303)


@router.post("/staff/users/{user_id:int}", include_in_schema=False)
def update_account(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    user_id: int,
    csrf: Csrf = "",
    display_name: Text = "",
    role: Annotated[str, Form(max_length=16)] = "",
    wards: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies form defaults
    partner: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(request, csrf)
    account = admin.get_account(session=session, user_id=user_id)
    try:
        changes = admin.update_account(
            session=session,
            actor=user,
            user=account,
            display_name=display_name,
            role=role,
            wards=wards,
            partner=partner or None,
        )
    except ValidationFailed as exc:
        values = {"display_name": display_name, "role": role, "wards": wards, "partner": partner}
        return _account_page(
            request,
            session,
            user,
            account,
            status=422,
            values=values,
            errors=exc.field_errors,
            message=exc.message,
        )
    return _back(user_id, "updated" if changes else "unchanged")


@router.post("/staff/users/{user_id:int}/active", include_in_schema=False)
def set_active(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    user_id: int,
    csrf: Csrf = "",
    active: Annotated[str, Form(pattern="^(yes|no)$")] = "no",
) -> Response:
    check_csrf(request, csrf)
    account = admin.get_account(session=session, user_id=user_id)
    try:
        admin.set_account_active(session=session, actor=user, user=account, active=active == "yes")
    except ValidationFailed as exc:
        return _account_page(request, session, user, account, status=422, message=exc.message)
    return _back(user_id, "activated" if active == "yes" else "deactivated")


@router.post("/staff/users/{user_id:int}/password-link", include_in_schema=False)
def password_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    user_id: int,
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    account = admin.get_account(session=session, user_id=user_id)
    if not account.active:
        msg = "Reactivate the account first: a deactivated account's link would not work."
        return _account_page(request, session, user, account, status=422, message=msg)
    token = resets.issue_reset(
        session=session,
        actor=user,
        user=account,
        now=now(request),
        hours=settings.password_reset_hours,
    )
    return _account_page(request, session, user, account, link=_reset_link(settings, token))


@router.post("/staff/users/{user_id:int}/sign-out", include_in_schema=False)
def sign_out(
    request: Request, session: SessionDep, user: AdminUser, user_id: int, csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    account = admin.get_account(session=session, user_id=user_id)
    admin.sign_out_everywhere(session=session, actor=user, user=account)
    if account.id == user.id:
        return RedirectResponse("/login", status_code=303)
    return _back(user_id, "signed_out")


# --- the audit trail ---------------------------------------------------------------------------


def _query(request: Request) -> AuditQuery:
    q = request.query_params
    return AuditQuery.parse(
        **{k: q.get(k) for k in ("who", "action", "kind", "record", "since", "until")}
    )


@router.get("/staff/audit", include_in_schema=False)
def audit_page(request: Request, session: SessionDep, user: AdminUser, page: int = 1) -> Response:
    given = {
        k: request.query_params.get(k, "")
        for k in ("who", "action", "kind", "record", "since", "until")
    }
    context: dict[str, Any] = {
        "user": user,
        "csrf": csrf_token(request),
        "values": given,
        "nobody": NOBODY,
        "errors": {},
    }
    try:
        query = _query(request)
    except ValidationFailed as exc:
        empty = search_audit(session=session, query=AuditQuery(), per_page=1)
        context.update(
            errors=exc.field_errors,
            message=exc.message,
            result=None,
            actions=empty.actions,
            kinds=empty.kinds,
        )
        return templates.TemplateResponse(request, "staff/audit.html", context, status_code=422)
    result = search_audit(session=session, query=query, page=min(max(page, 1), 10**6))
    context.update(result=result, actions=result.actions, kinds=result.kinds, params=query.params())
    return templates.TemplateResponse(request, "staff/audit.html", context)


@router.get("/staff/audit.csv", include_in_schema=False)
def audit_csv(request: Request, session: SessionDep, user: AdminUser) -> Response:
    query = _query(request)
    rows = list(audit_csv_rows(session=session, query=query))
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="audit",
        detail={"rows": len(rows), **query.params()},
    )
    return csv_response("audit.csv", CSV_HEADER, rows)


# --- a user sets her own password ---------------------------------------------------------------


def _reset_page(
    request: Request, token: str, account: User, *, status: int = 200, **extra: Any
) -> Response:
    context = {
        "csrf": csrf_token(request),
        "token": token,
        "account": account,
        "errors": {},
        **extra,
    }
    return templates.TemplateResponse(request, "password_reset.html", context, status_code=status)


@router.get("/password-reset/{token}", include_in_schema=False)
def reset_form(request: Request, session: SessionDep, token: str) -> Response:
    _, account = resets.find_reset(session=session, token=token, now=now(request))
    return _reset_page(request, token, account)


@router.post("/password-reset/{token}", include_in_schema=False)
def reset_password(
    request: Request,
    session: SessionDep,
    token: str,
    csrf: Csrf = "",
    password: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        resets.use_reset(
            session=session, token=token, password=password, confirm=confirm, now=now(request)
        )
    except ValidationFailed as exc:
        _, account = resets.find_reset(session=session, token=token, now=now(request))
        return _reset_page(
            request, token, account, status=422, errors=exc.field_errors, message=exc.message
        )
    return RedirectResponse("/login?reset=1", status_code=303)

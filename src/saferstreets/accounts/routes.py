"""Staff sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.accounts.service import audit, authenticate
from saferstreets.web.deps import SessionDep, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter()


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/staff") and "//" not in target:
        return target
    return "/staff"


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"csrf": csrf_token(request), "next": _safe_next(next), "error": None},
    )


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token_field: Annotated[str, Form(alias="csrf_token")] = "",
    next: Annotated[str, Form()] = "/staff",
) -> Response:
    check_csrf(request, csrf_token_field)
    user = authenticate(session=session, username=username, password=password)
    if user is None:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf": csrf_token(request),
                "next": _safe_next(next),
                "error": "That username and password do not match an active account.",
            },
            status_code=401,
        )
    request.session.clear()
    request.session["user_id"] = user.id
    audit(session=session, user=user, action="login", object_kind="user", object_id=user.id)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request, csrf_token_field: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    check_csrf(request, csrf_token_field)
    request.session.clear()
    return RedirectResponse("/", status_code=303)

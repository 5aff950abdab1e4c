"""Theme corrections in the browser: read a quote, tick or untick its themes, save (audited,
``source='analyst'``), and see when the model was last trained from those labels. Quotes are
people's own words: analysts and supervisors only, as for the assessment's quotes."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.themes import corrections
from saferstreets.themes.taxonomy import THEMES
from saferstreets.web.deps import SessionDep, SettingsDep, require_role, templates
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff")
Reader: TypeAlias = Annotated[Any, Depends(require_role("analyst", "supervisor"))]
KINDS = {"report": "Public reports", "survey_response": "Survey answers"}


@router.get("/themes", include_in_schema=False)
def themes_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    kind: Annotated[str, Query(max_length=32)] = "report",
    theme: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    texts, total = corrections.texts_to_read(
        session=session, owner_kind=kind, theme=theme, page=page
    )
    audit(
        session=session,
        user=user,
        action="view",
        object_kind="theme_texts",
        detail={"kind": kind, "ids": [t.owner_id for t in texts]},
    )
    return templates.TemplateResponse(
        request,
        "staff/themes.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "texts": texts,
            "total": total,
            "kind": kind,
            "kinds": KINDS,
            "theme": theme,
            "page": page,
            "pages": max(1, -(-total // corrections.PAGE_SIZE)),
            "themes": THEMES,
            "status": corrections.model_status(session=session, settings=settings),
            "saved": request.query_params.get("saved", ""),
        },
    )


@router.post("/themes/{kind}/{owner_id:int}", include_in_schema=False)
def save_themes(
    kind: str,
    owner_id: int,
    request: Request,
    session: SessionDep,
    user: Reader,
    csrf: Annotated[str, Form(alias="csrf_token")],
    themes: Annotated[list[str] | None, Form(max_length=64)] = None,
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    check_csrf(request, csrf)
    changed = corrections.save_corrections(
        session=session, owner_kind=kind, owner_id=owner_id, ticked=set(themes or [])
    )
    audit(
        session=session,
        user=user,
        action="change",
        object_kind="theme_labels",
        object_id=f"{kind}:{owner_id}",
        detail=changed,
    )
    keep = {k: v for k, v in parse_qsl(back) if k in ("kind", "theme", "page")}
    query = urlencode({**keep, "saved": f"{kind}-{owner_id}"})
    return RedirectResponse(f"/staff/themes?{query}#t-{kind}-{owner_id}", status_code=303)

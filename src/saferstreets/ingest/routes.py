"""Staff pages for the quarantine: the rows imports could not keep, with a CSV and JSON twin."""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from saferstreets.accounts.service import audit
from saferstreets.ingest import service
from saferstreets.web.deps import SessionDep, require_role, templates
from saferstreets.web.ids import StoreId
from saferstreets.web.security import check_csrf, csrf_token

router = APIRouter(prefix="/staff")
Analyst: TypeAlias = Annotated[Any, Depends(require_role("analyst"))]  # admin always passes
PAGE_SIZE = 100

KindQ = Annotated[str | None, Query(max_length=32)]
StatusQ = Annotated[str | None, Query(max_length=16)]
SourceQ = Annotated[str | None, Query(max_length=200)]


def _filters(kind: str | None, status: str | None, source: str | None) -> dict[str, Any]:
    return {
        "kind": kind or None,
        "status": None if status in (None, "", "all") else status,
        "source": source or None,
    }


@router.get("/quarantine", include_in_schema=False)
def quarantine_page(
    request: Request,
    session: SessionDep,
    user: Analyst,
    kind: KindQ = None,
    status: StatusQ = "open",
    source: SourceQ = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
) -> Response:
    filters = _filters(kind, status, source)
    rows = service.quarantined_rows(
        session=session, **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    matching = service.count_quarantined(session=session, **filters)
    audit(
        session=session,
        user=user,
        action="view",
        object_kind="quarantine",
        detail={"ids": [r.id for r in rows]},
    )
    return templates.TemplateResponse(
        request,
        "staff/quarantine.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "rows": rows,
            "matching": matching,
            "page": page,
            "pages": max(1, -(-matching // PAGE_SIZE)),
            "kinds": service.quarantine_kinds(session=session),
            "statuses": service.QUARANTINE_STATUSES,
            "kind": kind or "",
            "status": status or "all",
            "source": source or "",
            "query": _query(kind, status, source),
        },
    )


def _query(kind: str | None, status: str | None, source: str | None) -> str:
    from urllib.parse import urlencode

    return urlencode(
        {k: v for k, v in {"kind": kind, "status": status or "all", "source": source}.items() if v}
    )


@router.get("/quarantine.csv")
def quarantine_csv(
    session: SessionDep,
    user: Analyst,
    kind: KindQ = None,
    status: StatusQ = "open",
    source: SourceQ = None,
) -> Response:
    """Quarantined rows matching the filters, as CSV (formula-like cells quoted)."""
    rows = service.quarantined_rows(session=session, **_filters(kind, status, source))
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="quarantine",
        detail={"format": "csv", "ids": [r.id for r in rows], "kind": kind, "status": status},
    )
    return Response(
        service.quarantine_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="quarantine.csv"'},
    )


@router.get("/quarantine.json", response_model=None)
def quarantine_json(
    session: SessionDep,
    user: Analyst,
    kind: KindQ = None,
    status: StatusQ = "open",
    source: SourceQ = None,
) -> list[dict[str, Any]]:
    """Quarantined rows matching the filters, as JSON."""
    rows = service.quarantined_rows(session=session, **_filters(kind, status, source))
    audit(
        session=session,
        user=user,
        action="export",
        object_kind="quarantine",
        detail={"format": "json", "ids": [r.id for r in rows]},
    )
    return [service.quarantine_record(r) for r in rows]


@router.post("/quarantine", include_in_schema=False)
def quarantine_update(
    request: Request,
    session: SessionDep,
    user: Analyst,
    ids: Annotated[list[StoreId], Form(alias="id")],
    new_status: Annotated[str, Form(alias="status", max_length=16)],
    csrf: Annotated[str, Form(alias="csrf_token", max_length=200)] = "",
    back: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    check_csrf(request, csrf)
    rows = service.set_quarantine_status(session=session, row_ids=ids, status=new_status)
    audit(
        session=session,
        user=user,
        action="update",
        object_kind="quarantine",
        detail={"ids": [r.id for r in rows], "status": new_status},
    )
    query = back if back and "/" not in back and "\\" not in back else ""
    return RedirectResponse("/staff/quarantine" + (f"?{query}" if query else ""), status_code=303)

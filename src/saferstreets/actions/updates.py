"""Public updates ("you said, we did"): checked, approved by a second person, corrected, withdrawn.

An update is what the public reads on an area's page and in its Atom feed, so it must never
expose a reporter. Every text is checked before it is saved and again before it goes out
(``check_public_text``): a person's name, a phone number or email address, a vehicle
registration, a house number with a street or a date of birth blocks it, with a message naming
each problem. Then the steps, each audited:

- ``draft_update``: anyone who works the issue writes it; it is a draft, not public.
- ``approve_update``: a supervisor or an admin who did not write it makes it public (four eyes:
  the author cannot approve her own, whatever her role).
- ``correct_update``: a supervisor or an admin changes a published update's words; the page and
  the feed then say "updated" with the date. The audit records which fields changed, not the
  old words (they may be the very thing that had to go).
- ``withdraw_update``: a supervisor, an admin or the author takes it down, with a reason; it
  leaves the page and the feed at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from saferstreets.accounts.models import User
from saferstreets.accounts.service import audit
from saferstreets.actions.models import PublicUpdate
from saferstreets.actions.service import can_see_ward
from saferstreets.areas.models import Area
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.themes.scrub import find_personal_details

APPROVER_ROLES = ("admin", "supervisor")
FIELD_NAMES = {"title": "The headline", "body": "The text"}


def _require_text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(
            f"{FIELD_NAMES[field]} is needed.", field_errors={field: "is needed"}
        )
    if len(text) > limit:
        raise ValidationFailed(
            f"{FIELD_NAMES[field]} is too long.",
            field_errors={field: f"must be at most {limit} characters"},
        )
    return text


def problems_in(text: str) -> list[str]:
    """What in ``text`` could identify a person, each as 'a phone number ("07700 900123")'."""
    return [f'{f.label} ("{f.text}")' for f in find_personal_details(text)]


def check_public_text(*, title: str, body: str) -> tuple[str, str]:
    """The title and body, stripped; ``ValidationFailed`` naming every problem if either has one."""
    title = _require_text(title, "title", 200)
    body = _require_text(body, "body", 4000)
    errors = {
        field: "has " + "; ".join(found)
        for field, text in (("title", title), ("body", body))
        if (found := problems_in(text))
    }
    if errors:
        listed = " ".join(f"{FIELD_NAMES[f]} {message}." for f, message in errors.items())
        raise ValidationFailed(
            "This update could identify someone, so it cannot go out. "
            f"{listed} Take these out (say what was done, not who or where exactly) "
            "and save it again.",
            field_errors=errors,
        )
    return title, body


def _may_work_on(user: User | None, area_code: str) -> bool:
    """The system (the demo, the command line) always; a person if she may see the ward."""
    return user is None or can_see_ward(user, area_code)


def get_update(*, session: Session, update_id: int, user: User | None) -> PublicUpdate:
    """The update, if this user may act on it: an approver in her area, or its author.

    Any other update gets the answer one that does not exist gets.
    """
    update = session.get(PublicUpdate, update_id) if 0 < update_id < 2**63 else None
    if update is None or not _may_work_on(user, update.area_code):
        raise NotFound(f"There is no public update {update_id}.")
    if user is not None and user.role not in APPROVER_ROLES and update.created_by_id != user.id:
        raise NotFound(f"There is no public update {update_id}.")
    return update


def draft_update(
    *,
    session: Session,
    user: User | None,
    area_code: str,
    title: str,
    body: str,
    themes: Sequence[str] = (),
    issue_id: int | None = None,
) -> PublicUpdate:
    """Save a checked draft of what was done; it is public only once approved."""
    if session.scalar(sa.select(Area.id).where(Area.code == area_code)) is None:
        raise ValidationFailed(
            f"There is no area {area_code!r}.", field_errors={"area_code": "is not a known area"}
        )
    if not _may_work_on(user, area_code):
        raise PermissionDenied("This area is outside yours.")
    title, body = check_public_text(title=title, body=body)
    update = PublicUpdate(
        area_code=area_code,
        issue_id=issue_id,
        title=title,
        body=body,
        themes=list(themes),
        status="draft",
        created_by_id=user.id if user else None,
    )
    session.add(update)
    session.flush()
    audit(
        session=session,
        user=user,
        action="create",
        object_kind="public_update",
        object_id=update.id,
        detail={"status": "draft"},
    )
    return update


def require_approver(user: User | None, what: str) -> None:
    """Refuse anyone but a supervisor or an admin (or the system) before looking anything up."""
    if user is not None and user.role not in APPROVER_ROLES:
        raise PermissionDenied(f"Only a supervisor or an admin can {what} a public update.")


def approve_update(
    *, session: Session, update: PublicUpdate, user: User | None, published_on: date | None = None
) -> PublicUpdate:
    """Make a draft public, after checking it again; never by the person who wrote it."""
    require_approver(user, "approve")
    if update.status != "draft":
        raise ValidationFailed(f"This update is {update.status}; only a draft can be approved.")
    if user is not None and update.created_by_id == user.id:
        raise PermissionDenied(
            "You wrote this update, so another supervisor or admin must approve it."
        )
    check_public_text(title=update.title, body=update.body)
    update.status = "published"
    update.published_on = published_on or date.today()
    update.approved_by_id = user.id if user else None
    session.flush()
    audit(
        session=session,
        user=user,
        action="approve",
        object_kind="public_update",
        object_id=update.id,
        detail={"published_on": update.published_on.isoformat()},
    )
    return update


def correct_update(
    *,
    session: Session,
    update: PublicUpdate,
    user: User | None,
    title: str,
    body: str,
    corrected_on: date | None = None,
) -> PublicUpdate:
    """Change a published update's words (checked again); the public sees it marked updated."""
    require_approver(user, "correct")
    if update.status != "published":
        raise ValidationFailed(
            f"This update is {update.status}; only a published one is corrected."
        )
    title, body = check_public_text(title=title, body=body)
    changed = [f for f, new in (("title", title), ("body", body)) if getattr(update, f) != new]
    if not changed:
        raise ValidationFailed("Nothing was changed.", field_errors={"body": "is the same"})
    update.title, update.body = title, body
    update.corrected_on = corrected_on or date.today()
    session.flush()
    audit(
        session=session,
        user=user,
        action="correct",
        object_kind="public_update",
        object_id=update.id,
        detail={"fields": changed, "corrected_on": update.corrected_on.isoformat()},
    )
    return update


def withdraw_update(
    *,
    session: Session,
    update: PublicUpdate,
    user: User | None,
    reason: str,
    withdrawn_on: date | None = None,
) -> PublicUpdate:
    """Take an update (or a draft) down at once: off the area's page and its feed."""
    if user is not None and user.role not in APPROVER_ROLES and update.created_by_id != user.id:
        raise PermissionDenied("Only its author, a supervisor or an admin can withdraw it.")
    if update.status == "withdrawn":
        raise ValidationFailed("This update is already withdrawn.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why it is withdrawn.", field_errors={"reason": "is needed"})
    was = update.status
    update.status = "withdrawn"
    update.withdrawn_on = withdrawn_on or date.today()
    update.withdrawn_reason = reason[:2000]
    session.flush()
    audit(
        session=session,
        user=user,
        action="withdraw",
        object_kind="public_update",
        object_id=update.id,
        detail={"was": was, "reason": update.withdrawn_reason},
    )
    return update


def publish_update(
    *,
    session: Session,
    user: User | None,
    area_code: str,
    title: str,
    body: str,
    themes: Sequence[str] = (),
    issue_id: int | None = None,
    published_on: date | None = None,
) -> PublicUpdate:
    """Draft and approve in one step, for the system only (the demo, imports): no person may."""
    if user is not None:
        raise PermissionDenied("A person's update is drafted, then approved by someone else.")
    update = draft_update(
        session=session,
        user=None,
        area_code=area_code,
        title=title,
        body=body,
        themes=themes,
        issue_id=issue_id,
    )
    return approve_update(session=session, update=update, user=None, published_on=published_on)


def published_updates(
    *, session: Session, area_codes: Sequence[str], limit: int | None = None
) -> list[PublicUpdate]:
    """The updates the public sees for these areas: published (not drafts, not withdrawn)."""
    query = (
        sa.select(PublicUpdate)
        .where(PublicUpdate.area_code.in_(list(area_codes)), PublicUpdate.status == "published")
        .order_by(PublicUpdate.published_on.desc(), PublicUpdate.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def awaiting_approval(*, session: Session, user: User) -> list[PublicUpdate]:
    """Drafts this user may approve (someone else wrote them), oldest first; none for others."""
    if user.role not in APPROVER_ROLES:
        return []
    return list(
        session.scalars(
            sa.select(PublicUpdate)
            .where(
                PublicUpdate.status == "draft",
                sa.or_(PublicUpdate.created_by_id.is_(None), PublicUpdate.created_by_id != user.id),
            )
            .order_by(PublicUpdate.created_at, PublicUpdate.id)
        )
    )

"""The safeguarding queue loses nothing: reviews, order, paging, grouping of floods, filters.

Dates are fixed (2026-03) and relative to each other: nothing here depends on the day it runs.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from tests.reports.conftest import csrf_of
from tests.reports.county import INSIDE

from saferstreets.accounts.models import AuditEvent
from saferstreets.accounts.service import create_user
from saferstreets.db import session_factory, session_scope
from saferstreets.errors import NotFound, PermissionDenied, ValidationFailed
from saferstreets.reports import safeguarding, service
from saferstreets.reports.grouping import near_duplicate_groups
from saferstreets.reports.models import Report, SafeguardingReview
from saferstreets.reports.schemas import ReportSubmission

START = datetime(2026, 3, 2, 9)
PASSWORD = "a long password"

# 34 genuine urgent reports, each in its own words (every one fires a triage rule).
GENUINE = [
    "Someone is following me right now along the canal towpath",
    "A man with a knife was waiting by the bus stop on Mill Lane last night",
    "My ex keeps turning up outside my work and watching me through the window",
    "A group of lads dragged her into a car park and would not let her go",
    "He forced me to go with him behind the bowling alley, I got away",
    "There is a man at my door right now shouting that he will kill me",
    "My daughter is 13 and a man who drives a blue van keeps taking pictures of her at school",
    "The landlord of the Red Lion keeps touching the young barmaids, his name is Gary",
    "A man called Darren who lives at the flats on Cedar Road sends my sister threats",
    "I was sexually assaulted in the alley beside the cinema on Saturday",
    "I'm scared for my life, he said he'll find me wherever I go",
    "Please help, a car with reg AB12 CDE follows me home from the station every week",
    "The taxi driver locked the doors and said he would kill me if I screamed",
    "A man exposed himself to my 12 year old by the allotments, he lives at the end house",
    "My neighbour threatens to stab my dog and then me when I walk past",
    "Right now someone is standing in my garden watching the bedroom window",
    "Two men with a machete chased a girl through the park at about eleven",
    "I think I'm going to end my life, nothing makes me feel safe any more",
    "He is waiting for me at the end of the road every morning and he knows my routine",
    "My stepdad follows me when I go out with friends and tells me what I did",
    "Mr Hughes at the college keeps messaging girls and asking to meet them alone",
    "Mr Patel at the corner shop grabbed my arm and would not let go",
    "There was a gun in the glovebox of the man who offered me a lift",
    "My boyfriend choked me in the car park behind the leisure centre",
    "Men from the takeaway pulled her into the back room, she is only fifteen",
    "Currently hiding in the toilets at the station because he is still watching the exit",
    "The swimming coach known as Dave touches the younger girls in the changing rooms",
    "A man drives a white transit and slows down beside schoolgirls every afternoon",
    "Someone threw acid near the nightclub queue and people ran screaming",
    "My husband says he will murder me if I tell anyone what happens at home",
    "He raped my friend after the party at the student houses on Elm Street",
    "Her name is Kayleigh and her ex keeps breaking into her flat while she sleeps",
    "A man tried to abduct a girl outside the library but a bus driver stopped him",
    "A drunk man grabbed me by the throat outside the kebab shop and said he'd strangle me",
]
FLOOD = "he is outside my house right now"


def _flood_texts(n: int = 200, seed: int = 11) -> list[str]:
    """The hostile flood: one sentence, sent again and again with small changes."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        text = rng.choice(
            [FLOOD, FLOOD.upper(), FLOOD.capitalize(), FLOOD.replace("he is", "he's")]
        )
        texts.append(text + rng.choice(["", "!", "!!!", ".", " please", " please help", " HELP"]))
    return texts


def _submit(session, text: str, received: datetime, ward: str = "E05009001", jitter: int = 0):  # type: ignore[no-untyped-def]
    lat, lon = INSIDE[ward]
    submission = ReportSubmission.model_validate(
        {
            "latitude": lat + jitter * 0.0005,
            "longitude": lon + jitter * 0.0005,
            "occurred_on": (received - timedelta(days=1)).date(),
            "time_band": "night",
            "reasons": ["isolated"],
            "free_text": text,
        }
    )
    report, _ = service.create_report(session=session, submission=submission, received_at=received)
    return report


def _waiting_ids(session) -> list[int]:  # type: ignore[no-untyped-def]
    page = safeguarding.queue_page(session=session, per_page=1000)
    return [r.id for g in page.groups for r in g.reports]


def test_an_urgent_report_stays_until_a_supervisor_records_a_review(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        report = _submit(session, "A man with a knife was waiting by the gate", START)
        supervisor = create_user(
            session=session, username="s", password=PASSWORD, role="supervisor"
        )
        analyst = create_user(session=session, username="a", password=PASSWORD, role="analyst")
        # Linking or closing (any change of status) does not take it out of the queue.
        for status in ("linked", "triaged", "closed"):
            report.status = status
            session.flush()
            assert _waiting_ids(session) == [report.id], status
            assert safeguarding.count_safeguarding(session=session) == 1
        ids = [report.public_id]
        with pytest.raises(ValidationFailed, match="Choose what was done"):
            safeguarding.record_review(
                session=session, public_ids=ids, outcome="", note=None, user=supervisor
            )
        with pytest.raises(ValidationFailed, match="Say why no further action") as refused:
            safeguarding.record_review(
                session=session, public_ids=ids, outcome="no_further_action", note=" ",
                user=supervisor,
            )  # fmt: skip
        assert "note" in refused.value.field_errors
        with pytest.raises(PermissionDenied, match="Only a supervisor"):
            safeguarding.record_review(
                session=session, public_ids=ids, outcome="control_room", note=None, user=analyst
            )
        with pytest.raises(NotFound, match="nothing was recorded"):
            safeguarding.record_review(
                session=session, public_ids=[*ids, "no-such-report"], outcome="control_room",
                note=None, user=supervisor,
            )  # fmt: skip
        assert _waiting_ids(session) == [report.id]
        at = START + timedelta(hours=2)
        safeguarding.record_review(
            session=session, public_ids=ids, outcome="no_further_action",
            note="An old incident; she is safe now.", user=supervisor, at=at,
        )  # fmt: skip
        assert _waiting_ids(session) == []
        assert safeguarding.count_safeguarding(session=session) == 0
        review = session.scalar(sa.select(SafeguardingReview))
        assert (review.report_id, review.reviewer_id, review.reviewed_at) == (
            report.id, supervisor.id, at,
        )  # fmt: skip
        assert (review.outcome, review.note) == (
            "no_further_action",
            "An old incident; she is safe now.",
        )
        event = session.scalar(
            sa.select(AuditEvent).where(AuditEvent.object_id == report.public_id)
        )
        assert event.user_id == supervisor.id and event.detail["outcome"] == "no_further_action"
        # Reviewed reports are still there when asked for, with their review.
        everything = safeguarding.queue_page(
            session=session, filters=safeguarding.QueueFilters(include_reviewed=True)
        )
        assert everything.groups[0].reviews[report.id].id == review.id


def test_the_queue_is_ordered_by_urgency_then_oldest_first(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        named = _submit(session, "A man called Gary Stone sells drugs by the shops", START)
        child_words = "My friend was raped at the party behind the station"
        child = _submit(session, child_words, START + timedelta(hours=5))
        new_danger = _submit(session, "he is outside my flat right now", START + timedelta(days=2))
        old_danger = _submit(
            session, "Two men with a machete by the park", START + timedelta(days=1)
        )
        assert (named.urgency, child.urgency, new_danger.urgency) == (3, 2, 1)
        assert _waiting_ids(session) == [old_danger.id, new_danger.id, child.id, named.id]


def test_near_identical_texts_group_and_distinct_ones_do_not() -> None:
    flood = _flood_texts()
    labels = near_duplicate_groups(flood + GENUINE)
    assert len(set(labels[:200])) == 1  # the whole flood is one group
    assert len(set(labels[200:])) == 34  # each genuine report is its own
    assert labels[0] not in labels[200:]
    assert near_duplicate_groups(["", None, "help", "help"]) == [0, 1, 2, 3]  # too short to judge


def test_a_flood_of_copies_is_compared_once_per_distinct_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from saferstreets.reports import grouping

    compared: list[int] = []
    real = grouping._components

    def spy(texts: list[str], threshold: float):  # type: ignore[no-untyped-def]
        compared.append(len(texts))
        return real(texts, threshold)

    monkeypatch.setattr(grouping, "_components", spy)
    flood = _flood_texts(20_000)
    labels = near_duplicate_groups(flood + GENUINE)
    distinct = {grouping.normalise(t) for t in flood}
    assert compared == [len(distinct) + 34] and len(distinct) < 30
    assert len(set(labels)) == 35


def _login(web, name: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(web.get("/login").text)
    data = {"username": name, "password": PASSWORD, "csrf_token": token}
    assert web.post("/login", data=data).status_code == 200


def _store_flood(engine: sa.Engine) -> tuple[list[str], list[str]]:
    """34 genuine urgent reports over a week, then 200 hostile copies from 20 places, newer."""
    wards = list(INSIDE)
    with session_scope(engine) as session:
        genuine = [
            _submit(session, text, START + timedelta(hours=5 * i), ward=wards[i % 3]).public_id
            for i, text in enumerate(GENUINE)
        ]
        flood = [
            _submit(
                session, text, START + timedelta(days=8, minutes=3 * i), jitter=i % 20
            ).public_id
            for i, text in enumerate(_flood_texts())
        ]
        create_user(session=session, username="sup", password=PASSWORD, role="supervisor")
    return genuine, flood


def test_a_flood_of_copies_cannot_bury_genuine_reports(web, county) -> None:  # type: ignore[no-untyped-def]
    genuine, flood = _store_flood(county)
    _login(web, "sup")
    seen: set[str] = set()
    url, pages, flood_group, token, first_page = "/staff/safeguarding", 0, "", "", ""
    while url:
        page = web.get(url)
        assert page.status_code == 200
        pages += 1
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))
        assert "234 urgent reports waiting for review in all" in text
        assert "234 reports in 35 groups of near-identical words" in text
        seen |= set(re.findall(r'id="(?:group|report)-([0-9a-f-]{36})"', page.text))
        groups = page.text.split('class="queue-item sg-group"')[1:]
        flood_group += "".join(g for g in groups if 'data-count="200"' in g)
        token = token or csrf_of(page.text)
        first_page = first_page or page.text
        found = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == 2  # 35 groups, 25 a page
    # An alert's link (?report=<public id>) opens the page that shows that report.
    last = next(p for p in genuine + flood if p not in first_page)
    focused = web.get(f"/staff/safeguarding?report={last}#report-{last}")
    assert focused.status_code == 200 and f'id="report-{last}"' in focused.text
    assert "Page 2 of 2" in focused.text
    assert set(genuine) <= seen  # every genuine report can be reached
    assert set(flood) <= seen
    assert flood_group.count("200 near-identical reports") == 1  # the flood shows once
    # The reviewer clears the flood in one review of its members; the 34 remain.
    members = re.findall(r'name="report" value="([0-9a-f-]{36})"', flood_group)
    assert sorted(members) == sorted(flood)
    after = web.post(
        "/staff/safeguarding/review",
        data={
            "csrf_token": token,
            "report": members,
            "outcome": "no_further_action",
            "note": "Hostile flood: the same words from 20 places in ten minutes.",
        },
    )
    after_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", after.text))
    assert after.status_code == 200 and "34 urgent reports waiting" in after_text
    left = set(re.findall(r'id="group-([0-9a-f-]{36})"', after.text))
    assert len(left) == 25 and left <= set(genuine)
    assert "34 reports in 34 groups" in after_text


def test_the_queue_filters_by_day_and_area_and_says_what_was_wrong(web, county) -> None:  # type: ignore[no-untyped-def]
    with session_scope(county) as session:
        early = _submit(session, "A man with a knife by the gate", START, ward="E05009001")
        late = _submit(session, "My ex is waiting outside right now", START + timedelta(days=3),
                       ward="E05009003").public_id  # fmt: skip
        early = early.public_id
        create_user(session=session, username="an", password=PASSWORD, role="analyst")
    _login(web, "an")

    def shown(query: str) -> set[str]:
        page = web.get(f"/staff/safeguarding?{query}")
        assert page.status_code == 200, query
        return set(re.findall(r'id="group-([0-9a-f-]{36})"', page.text))

    assert shown("") == {early, late}
    assert shown("received_from=2026-03-04") == {late}
    assert shown("received_to=2026-03-03") == {early}
    assert shown("area=E05009003") == {late}  # a ward
    assert shown("area=E07000901") == {early}  # a district
    assert shown("area=E05009004") == set()
    bad = web.get("/staff/safeguarding?received_from=yesterday")
    assert bad.status_code == 200 and "Received from is not a date" in bad.text
    # An analyst reads the queue but cannot record a review.
    page = web.get("/staff/safeguarding")
    assert "a supervisor records the reviews" in page.text and "Record review" not in page.text
    refused = web.post(
        "/staff/safeguarding/review",
        data={"csrf_token": csrf_of(page.text), "report": early, "outcome": "control_room"},
    )
    assert refused.status_code == 403


def test_a_review_without_a_reason_for_no_action_is_refused_on_the_page(web, county) -> None:  # type: ignore[no-untyped-def]
    with session_scope(county) as session:
        report = _submit(session, "A man with a knife by the gate", START).public_id
        create_user(session=session, username="sup", password=PASSWORD, role="supervisor")
    _login(web, "sup")
    page = web.get("/staff/safeguarding")
    assert "Record review" in page.text
    data = {"csrf_token": csrf_of(page.text), "report": report, "outcome": "no_further_action"}
    refused = web.post("/staff/safeguarding/review", data=data)
    assert refused.status_code == 422 and "Say why no further action is needed" in refused.text
    assert "The review was not recorded" in refused.text  # the queue again, the reason on top
    assert f'id="group-{report}"' in refused.text
    with session_factory(county)() as session:
        assert session.scalar(sa.select(sa.func.count(SafeguardingReview.id))) == 0
        assert safeguarding.count_safeguarding(session=session) == 1


def test_a_reporter_deleting_her_report_deletes_its_review(county: sa.Engine) -> None:
    with session_factory(county)() as session:
        lat, lon = INSIDE["E05009001"]
        submission = ReportSubmission.model_validate(
            {"latitude": lat, "longitude": lon, "occurred_on": START.date(),
             "reasons": ["isolated"], "free_text": "he is following me right now"}
        )  # fmt: skip
        report, code = service.create_report(
            session=session, submission=submission, received_at=START
        )
        safeguarding.record_review(
            session=session, public_ids=[report.public_id], outcome="control_room", note="sent",
            user=None,
        )  # fmt: skip
        service.delete_report(session=session, code=code)
        session.commit()
        assert session.scalar(sa.select(sa.func.count(SafeguardingReview.id))) == 0
        assert session.scalar(sa.select(sa.func.count(Report.id))) == 0

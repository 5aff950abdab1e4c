"""Plan settings are defined once (PlanParams) and the harm weights are a real setting."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sqlalchemy as sa

from saferstreets.config import Settings, get_settings
from saferstreets.crime.offences import HARM_WEIGHTS
from saferstreets.errors import ConfigError, PlanningError
from saferstreets.optimisation.mclp import MCLP
from saferstreets.optimisation.pmedian import PMedian
from saferstreets.planning import cli as plan_cli
from saferstreets.planning import routes as plan_routes
from saferstreets.planning.params import (
    CHECK_MARKED,
    DEFAULT_WEIGHTS_TEXT,
    DEFAULTS,
    FORM_DEFAULTS,
    PlanParams,
    read_form,
)
from saferstreets.planning.service import make_plan

SMALL = dict(
    teams=4, officers=60, radius=800, min_team=5, max_team=30, ward_officers=20, time_limit=10
)


def test_the_cli_and_the_form_take_their_defaults_from_plan_params() -> None:
    import typer

    make = typer.main.get_command(plan_cli.app)  # the plan group's callback makes a plan
    defaults = {p.name: p.default for p in make.params}
    for key in ("teams", "officers", "radius", "min_team", "max_team", "phases", "time_limit"):
        assert defaults[key] == getattr(DEFAULTS, key), key
    assert defaults["weights"] == DEFAULT_WEIGHTS_TEXT == "reports=1,survey=1,crime=1"
    form = inspect.signature(plan_routes.create_plan).parameters
    for key, value in FORM_DEFAULTS.items():
        assert form[key].default == value, key
    assert read_form(FORM_DEFAULTS) == PlanParams()


def test_a_setting_that_cannot_work_is_refused_by_the_check() -> None:
    with pytest.raises(PlanningError) as err:
        PlanParams(radius=0).check()
    assert err.value.field_errors == {"radius": "must be more than 0 metres (it is 0)"}
    with pytest.raises(PlanningError) as err:
        read_form({"teams": "19.0", "method": "best"})
    assert err.value.message == CHECK_MARKED
    assert err.value.field_errors == {
        "teams": "must be a whole number",
        "method": "choose mclp or pmedian",
    }


def test_pure_models_carry_no_cli_advice() -> None:
    with pytest.raises(PlanningError) as err:
        MCLP.from_arrays([[0, 0]], [1.0], [[0, 0]], radius=0, p=1)
    assert "--" not in str(err.value) and "radius" in err.value.field_errors
    many = np.zeros((5000, 2))
    with pytest.raises(PlanningError) as err:
        PMedian.from_arrays(many, np.ones(5000), many, 1)
    assert "--" not in str(err.value) and "saferstreets " not in str(err.value)
    assert "method" in err.value.field_errors


def test_the_cli_adds_its_own_hint() -> None:
    with pytest.raises(PlanningError) as err, plan_cli.cli_hints():
        MCLP.from_arrays([[0, 0]], [1.0], [[0, 0]], radius=0, p=1)
    assert err.value.hint == "for example --radius 800"


def test_harm_weights_is_a_setting_the_plan_uses(county: sa.Engine, settings: Settings) -> None:
    assert Settings().harm_weights == HARM_WEIGHTS
    default = make_plan(engine=county, name="d", params=PlanParams(**SMALL), settings=settings)
    no_harm = settings.model_copy(update={"harm_weights": {}})
    none = make_plan(engine=county, name="n", params=PlanParams(**SMALL), settings=no_harm)
    assert default.result["summary"]["demand_totals"]["crime"] > 0
    assert none.result["summary"]["demand_totals"]["crime"] == 0


def test_a_negative_harm_weight_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFERSTREETS_HARM_WEIGHTS", '{"Robbery": -1}')
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"SAFERSTREETS_HARM_WEIGHTS.*Robbery"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_rollout_starts_on_the_first_of_next_month_unless_chosen() -> None:
    from datetime import date

    from saferstreets.planning.params import first_of_next_month, read_form

    assert first_of_next_month(date(2026, 12, 2)) == date(2027, 1, 1)
    assert first_of_next_month(date(2027, 1, 31)) == date(2027, 2, 1)
    assert PlanParams().rollout_start == first_of_next_month(date.today())
    assert read_form({"rollout_start": ""}).rollout_start == first_of_next_month(date.today())
    assert read_form({"rollout_start": "2027-03-01"}).rollout_start == date(2027, 3, 1)
    with pytest.raises(PlanningError) as err:
        read_form({"rollout_start": "next tuesday"})
    assert err.value.field_errors == {"rollout_start": "must be a date such as 2027-01-01"}


def test_weights_read_in_words() -> None:
    from saferstreets.planning.params import weights_words

    assert weights_words({"reports": 1, "survey": 1, "crime": 1}) == (
        "public reports, survey concerns and harm-weighted recorded crime count equally"
    )
    words = weights_words({"reports": 2, "survey": 1, "crime": 0})
    assert words == (
        "weighed public reports 2 and survey concerns 1 (a weight of 2 counts twice as much as 1);"
        " harm-weighted recorded crime left out"
    )
    assert "{" not in words and "reports=" not in words


def test_settings_read_in_words() -> None:
    from saferstreets.planning.params import SOLVER_SETTINGS, setting_label, setting_text

    names = {"TC1": "Abbey town centre", "891f1d4a6cbffff": "near Mill Lane, Northgate"}
    assert setting_text("force_in", ["TC1", "891f1d4a6cbffff"], names) == (
        "Abbey town centre; near Mill Lane, Northgate"
    )
    assert setting_text("force_out", [], names) == "none"
    assert setting_text("rollout_start", "2027-03-01") == "1 March 2027"
    assert setting_text("method", "pmedian").startswith("keep the average walk")
    assert setting_text("max_visits_per_hotspot", 0) == "no cap beyond the hours that matter"
    assert setting_text("visits_per_hour", None) == "1"  # stored before the setting existed
    assert setting_label("radius") == "Walking distance a team covers, in metres"
    assert setting_label("force_in") == "Bases that must be used"
    assert setting_label("busy_min_records") == "And with at least this many records"
    for key in PlanParams.model_fields:  # every setting has a label in words, not its key
        assert "_" not in setting_label(key), key
    assert set(SOLVER_SETTINGS) <= set(PlanParams.model_fields)

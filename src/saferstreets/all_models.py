"""Import every domain's models so that ``Base.metadata`` knows every table (Alembic, tests)."""

from saferstreets.accounts import models as accounts_models
from saferstreets.actions import models as actions_models
from saferstreets.alerts import models as alerts_models
from saferstreets.areas import models as areas_models
from saferstreets.assessment import models as analysis_models
from saferstreets.crime import models as crime_models
from saferstreets.db import Base
from saferstreets.ingest import models as ingest_models
from saferstreets.jobs import models as jobs_models
from saferstreets.places import models as places_models
from saferstreets.planning import models as planning_models
from saferstreets.publishing import models as publishing_models
from saferstreets.reports import models as reports_models
from saferstreets.surveys import models as surveys_models
from saferstreets.themes import models as themes_models

__all__ = [
    "Base",
    "accounts_models",
    "actions_models",
    "alerts_models",
    "analysis_models",
    "areas_models",
    "crime_models",
    "ingest_models",
    "jobs_models",
    "places_models",
    "planning_models",
    "publishing_models",
    "reports_models",
    "surveys_models",
    "themes_models",
]

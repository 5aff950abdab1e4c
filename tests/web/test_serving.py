"""How ``saferstreets serve`` builds each worker's app: warmed, then frozen out of the garbage
collector's full collections (``web.serving.served_app``).

Run in a child process: freezing this test process would keep every later test's garbage."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa
from tests.factories import add_area
from tests.web.servers import server_env

from saferstreets.config import Settings

PROBE = """
import gc, json
from saferstreets.areas.lookup import _cache
from saferstreets.web.serving import served_app
app = served_app()
index = next(iter(_cache.values()))
print(json.dumps({"frozen": gc.get_freeze_count(), "indexes": len(_cache),
                  "wards": index.size("ward"), "collectable": len(gc.get_objects())}))
"""


def test_a_served_worker_is_warmed_then_frozen(settings: Settings, session: sa.orm.Session) -> None:
    add_area(session, "W1", "Ward one", "ward")
    add_area(session, "W2", "Ward two", "ward", lon=-0.2)
    session.commit()
    done = subprocess.run([sys.executable, "-c", PROBE], env=server_env(settings),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # The area index the first report would build is there before any request ...
    assert found["indexes"] == 1 and found["wards"] == 2
    # ... and what start-up made (modules, mappings, that index) is out of the collector's
    # sight: far more objects frozen than left for a full collection to walk.
    assert found["frozen"] > 50_000
    assert found["collectable"] < found["frozen"] / 10

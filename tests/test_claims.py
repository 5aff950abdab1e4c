"""``db.claim``: an exclusive claim on a piece of work, held by a live process and ended with it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import sqlalchemy as sa

from saferstreets.db import claim


def test_a_claim_is_exclusive_within_a_process_and_free_again_after(engine: sa.Engine) -> None:
    with claim(engine, "import street abc") as first:
        assert first
        with claim(engine, "import street abc") as second:
            assert not second  # the same name, held
        with claim(engine, "import street other") as other:
            assert other  # another name is free
        seen: list[bool] = []

        def from_a_thread() -> None:
            with claim(engine, "import street abc") as held:
                seen.append(held)

        worker = threading.Thread(target=from_a_thread)
        worker.start()
        worker.join()
        assert seen == [False]
    with claim(engine, "import street abc") as again:
        assert again  # released at the end of the block


def test_a_claim_held_by_another_process_ends_when_that_process_is_killed(
    engine: sa.Engine,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from saferstreets.db import claim, make_engine
            with claim(make_engine({url!r}), "import street abc") as held:
                print("held" if held else "refused", flush=True)
                time.sleep(120)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with claim(engine, "import street abc") as ours:
            assert not ours  # a live process holds it
    finally:
        holder.kill()  # killed: no code of its own runs to let go
        holder.wait(timeout=30)
    with claim(engine, "import street abc") as ours:
        assert ours  # the kernel (SQLite) or the server (PostgreSQL) let go for it

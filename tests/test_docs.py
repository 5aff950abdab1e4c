"""The documentation stays true: command reference, settings, commands, links, README."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from saferstreets.cli import app
from saferstreets.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
GUIDES = sorted(DOCS.glob("guide-*.md"))
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _prose(text: str) -> str:
    """Markdown without fenced blocks or inline code (where brackets are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[`*]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            found.add(slug if n == 0 else f"{slug}-{n}")
            seen[slug] = n + 1
    return found


def _top_level_commands() -> list[str]:
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="saferstreets")
    return [name for name in root.list_commands(ctx) if not root.get_command(ctx, name).hidden]


def test_cli_reference_is_current() -> None:
    """docs/cli.md is exactly what scripts/cli_docs.py generates from the commands now."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_docs.py"), "--stdout"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    expected = done.stdout
    current = (DOCS / "cli.md").read_text(encoding="utf-8") if (DOCS / "cli.md").exists() else ""
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "docs/cli.md (committed)",
                "docs/cli.md (generated)",
                n=1,
            )
        )
        pytest.fail(f"docs/cli.md is out of date: run `make docs`\n{diff[:6000]}")


def test_cli_reference_lists_every_command() -> None:
    """The generated page has a section for every command and subcommand."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="saferstreets")
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert f"## saferstreets {name}\n" in text
        sub_ctx = command.context_class(command, info_name=name, parent=ctx)
        for sub in getattr(command, "list_commands", lambda _ctx: [])(sub_ctx):
            assert f"### saferstreets {name} {sub}\n" in text


def _settings_table_names() -> set[str]:
    text = (DOCS / "operating.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        cells = line.strip().strip("|").split("|")
        if line.lstrip().startswith("|") and len(cells) > 1:
            names.update(re.findall(r"`([a-z0-9_]+)`", cells[0]))
    return names


def test_every_setting_is_documented() -> None:
    """Each Settings field appears as `name` in the first column of operating.md's table."""
    documented = _settings_table_names()
    missing = sorted(set(Settings.model_fields) - documented)
    assert not missing, (
        f"Settings fields missing from the table in docs/operating.md: {', '.join(missing)}; "
        "add a row | `name` | default | meaning |"
    )


def test_documented_settings_exist() -> None:
    """The settings table names no setting that has gone."""
    stale = sorted(_settings_table_names() - set(Settings.model_fields))
    assert not stale, f"docs/operating.md documents settings that do not exist: {stale}"


def test_every_command_is_in_a_guide_or_the_readme() -> None:
    """Each top-level command is mentioned as `saferstreets NAME` in a guide or README.md."""
    assert GUIDES, "docs/guide-*.md are missing"
    text = "\n".join(p.read_text(encoding="utf-8") for p in [README, *GUIDES])
    missing = [
        name
        for name in _top_level_commands()
        if not re.search(rf"saferstreets {re.escape(name)}\b", text)
    ]
    assert not missing, (
        f"Commands not mentioned in README.md or docs/guide-*.md: {', '.join(missing)}; "
        "say in the right guide what each is for"
    )


def _relative_links(path: Path) -> list[str]:
    targets = LINK.findall(_prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    """Every relative link points at a file that exists (and a heading that exists in it)."""
    broken = []
    for target in _relative_links(path):
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
            broken.append(f"{target} (no heading #{fragment} in {dest.name})")
    assert not broken, f"{path.relative_to(ROOT)} has broken links: {'; '.join(broken)}"


def test_index_links_every_page() -> None:
    """docs/index.md links to every other page in docs/, so none is orphaned."""
    linked = {
        (DOCS / t.partition("#")[0]).resolve()
        for t in _relative_links(DOCS / "index.md")
        if t.partition("#")[0]
    }
    orphans = [
        p.name for p in sorted(DOCS.glob("*.md")) if p.name != "index.md" and p not in linked
    ]
    assert not orphans, f"docs/index.md does not link to: {', '.join(orphans)}"


def test_readme_shows_make_demo_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    for command in ("make demo", "make test"):
        assert command in text, f"README.md must show `{command}`"


def test_link_checker_finds_broken_links(tmp_path: Path) -> None:
    """The checker itself: a missing file and a missing heading are caught; code is not a link."""
    (tmp_path / "there.md").write_text("# A heading\n## `snake_case`, too\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [anchor](there.md#a-heading) [web](https://example.org)\n"
        "[gone](missing.md) [bad anchor](there.md#nope) `[code](not-a-link.md)`\n"
        "```\n[fenced](also-not.md)\n```\n",
        encoding="utf-8",
    )
    links = _relative_links(page)
    assert links == ["there.md", "there.md#a-heading", "missing.md", "there.md#nope"]
    assert {"a-heading", "snake_case-too"} <= _anchors(tmp_path / "there.md")

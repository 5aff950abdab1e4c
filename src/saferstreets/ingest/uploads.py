"""Files uploaded from the browser for an import: kept in ``data_dir/uploads/<token>/``, with the
checks a file from outside needs before any import reads it.

Refused, each with a message that says why: a file larger than :data:`MAX_UPLOAD_BYTES`; a name
with a path in it (only the last part of any name is kept, and only plain characters); a kind
of file the import does not read; a zip whose member names leave the folder (absolute, ``..``,
drive letters), that holds another zip, that would unpack to more than
:data:`MAX_UNPACKED_BYTES`, or whose members are compressed more than :data:`MAX_RATIO` times
(a zip bomb). The imports themselves read the files with the same code as the CLI.
"""

from __future__ import annotations

import re
import secrets
import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from saferstreets.config import Settings
from saferstreets.errors import NotFound, ValidationFailed

MAX_UPLOAD_BYTES = 300 * 1024 * 1024
MAX_UNPACKED_BYTES = 3 * 1024 * 1024 * 1024
MAX_RATIO = 100
MAX_FILES = 200
CHUNK = 1024 * 1024
KINDS = {
    "crime": (".zip", ".csv"),
    "boundaries": (".geojson", ".json", ".gpkg", ".zip"),
    "survey": (".csv", ".xlsx"),
}
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
KIND_FILE = "_kind"  # what the upload is for: a survey export left unimported is removed
STALE_SURVEY_UPLOAD = timedelta(days=1)


class UploadRefused(ValidationFailed):
    title = "This file cannot be imported"


@dataclass(frozen=True)
class Upload:
    token: str
    kind: str
    folder: Path
    files: list[Path]


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def safe_name(name: str, kind: str) -> str:
    """The last part of an uploaded file's name, plain characters only, of a kind ``kind`` reads."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._")[:120]
    allowed = KINDS[kind]
    if not base or not base.lower().endswith(allowed):
        raise UploadRefused(
            f"{name[:120]!r} is not a file this import reads",
            field_errors={"files": f"one of: {', '.join(allowed)}"},
        )
    return base


def check_zip(path: Path, *, limit: int = MAX_UNPACKED_BYTES) -> None:
    """Refuse a zip with members outside its folder, nested zips, or a bomb's proportions."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UploadRefused(f"{path.name} is not a zip file that can be opened") from None
    with archive:
        total = 0
        for info in archive.infolist():
            member = info.filename.replace("\\", "/")
            parts = PurePosixPath(member).parts
            if member.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", member):
                raise UploadRefused(
                    f"{path.name} holds {member[:120]!r}, a name outside its own folder"
                )
            if member.lower().endswith((".zip", ".gz", ".7z", ".rar")):
                raise UploadRefused(f"{path.name} holds another archive ({member[:120]!r})")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise UploadRefused(
                    f"{path.name}: {member[:120]!r} would unpack {info.file_size:,} bytes from "
                    f"{info.compress_size:,} (more than {MAX_RATIO} times): refused as a zip bomb"
                )
        if total > limit:
            raise UploadRefused(
                f"{path.name} would unpack to {total:,} bytes, more than {limit:,}: refused"
            )


def save_upload(*, settings: Settings, kind: str, files: Iterable[tuple[str, BinaryIO]]) -> Upload:
    """Save uploaded files (name, stream) for an import of ``kind``; check each; the upload."""
    if kind not in KINDS:
        raise UploadRefused(f"There is no import of {kind!r}", field_errors={"kind": "unknown"})
    token = secrets.token_hex(16)
    folder = uploads_dir(settings) / token
    folder.mkdir(parents=True)
    (folder / KIND_FILE).write_text(kind, encoding="utf-8")
    saved: list[Path] = []
    try:
        for name, stream in files:
            if len(saved) >= MAX_FILES:
                raise UploadRefused(f"At most {MAX_FILES} files at once")
            target = folder / safe_name(name, kind)
            if target.exists():
                raise UploadRefused(f"Two files are called {target.name}")
            _copy_limited(stream, target)
            if target.suffix.lower() == ".zip":
                check_zip(target)
            saved.append(target)
        if not saved:
            raise UploadRefused("Choose a file to import", field_errors={"files": "no file"})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Upload(token, kind, folder, saved)


def _copy_limited(stream: BinaryIO, target: Path) -> None:
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(CHUNK):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise UploadRefused(
                    f"{target.name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
                    field_errors={"files": "too large"},
                )
            out.write(chunk)


def discard_upload(upload: Upload) -> None:
    """Remove an upload's folder and everything in it (a survey export once its import ran: the
    file holds the respondents' IP addresses, emails and names, which the import never stores)."""
    shutil.rmtree(upload.folder, ignore_errors=True)


def stale_survey_uploads(*, settings: Settings, now: datetime) -> list[Path]:
    """Survey exports uploaded more than :data:`STALE_SURVEY_UPLOAD` before ``now`` (naive UTC)
    and never imported: an import removes its upload, so these were abandoned at the mapping
    form. They hold the respondents' IP addresses, emails and names; retention removes them."""
    root = uploads_dir(settings)
    cutoff = (now - STALE_SURVEY_UPLOAD).replace(tzinfo=UTC).timestamp()
    folders = sorted(root.iterdir()) if root.is_dir() else []
    return [
        f
        for f in folders
        if _TOKEN.match(f.name)
        and (f / KIND_FILE).is_file()
        and (f / KIND_FILE).read_text(encoding="utf-8").strip() == "survey"
        and f.stat().st_mtime < cutoff
    ]


def find_upload(*, settings: Settings, token: str, kind: str) -> Upload:
    """An upload saved before, by its token (never a path the user chose)."""
    folder = uploads_dir(settings) / token
    if not _TOKEN.match(token or "") or kind not in KINDS or not folder.is_dir():
        raise NotFound("There is no such upload")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("_"))
    return Upload(token, kind, folder, files)

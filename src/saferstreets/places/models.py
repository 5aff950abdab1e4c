"""The gazetteer: named places with a point, the areas they fall in, and where they came from."""

from __future__ import annotations

import math

import h3
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from saferstreets.db import Base
from saferstreets.models_common import JSONType, Located, located_indexes

# The kinds of place, in the order search offers them when several match equally well.
PLACE_KINDS = (
    "station",
    "street",
    "stop",
    "park",
    "landmark",
    "postcode",
    "town",
    "village",
    "other",
)
# Reverse lookup reads places by the square of a fixed grid they lie in: 0.004° of latitude
# (445 m) by 0.006° of longitude (about 350 m in the north of Scotland, 430 m in Cornwall).
TILE_LAT = 0.004
TILE_LON = 0.006
TILE_ROW = 100_000  # a tile's key: its row (from 90° S) times this, plus its column (from 180° W)


def tile_of(lat: float, lon: float) -> int:
    """The key of the grid square a point lies in (``place.tile``)."""
    return math.floor((lat + 90.0) / TILE_LAT) * TILE_ROW + math.floor((lon + 180.0) / TILE_LON)


def tiles_round(lat: float, lon: float, km: float) -> list[int]:
    """The keys of the grid squares that a circle of ``km`` round a point touches (those of its
    bounding box): a handful of indexed look-ups hold every place within ``km`` of the point."""
    d_lat = km / 110.57
    d_lon = km / (111.32 * max(math.cos(math.radians(lat)), 0.01))
    rows = range(
        math.floor((lat - d_lat + 90.0) / TILE_LAT), math.floor((lat + d_lat + 90.0) / TILE_LAT) + 1
    )
    cols = range(
        math.floor((lon - d_lon + 180.0) / TILE_LON),
        math.floor((lon + d_lon + 180.0) / TILE_LON) + 1,
    )
    return [row * TILE_ROW + col for row in rows for col in cols]


# Search near a pin reads the (region, key) indexes of the regions round it: a region is the
# H3 cell at this resolution (about 1,800 km²) a place's cell lies in.
REGION_RESOLUTION = 4


def region_of(cell: str | None) -> str | None:
    """The resolution-4 H3 cell a place's cell lies in (its search region)."""
    if not cell:
        return None
    res = h3.get_resolution(cell)
    return str(h3.cell_to_parent(cell, REGION_RESOLUTION)) if res > REGION_RESOLUTION else cell


# Search keys are compared byte by byte (a prefix is a range of the index) on both stores.
WORD_TYPE = sa.String(240).with_variant(sa.String(240, collation="C"), "postgresql")


class Place(Located, Base):
    """One named place: a street, postcode, station, bus stop, park or landmark.

    ``source`` and ``source_id`` identify the row in its file (an OS Open Names ID, a postcode,
    a NaPTAN ATCO code, a landmark's name and kind), so importing a file again updates the place
    instead of adding it twice. ``search_key`` is the lower-cased name with its kind word ("mill
    lane", "stevenage station") that search matches against; ``postcode_key`` is a postcode
    without spaces (``SG11AB``) for postcode places.
    """

    __tablename__ = "place"
    __table_args__ = (
        sa.UniqueConstraint("source", "source_id", name="uq_place_source_id"),
        # The id last: search's near-spelling pass reads (id, key) from the index alone, not
        # from the table's pages (SQLite's indexes hold the id anyway; PostgreSQL's need it).
        sa.Index("ix_place_search_key", "search_key", "id"),
        sa.Index("ix_place_region_search_key", "region", "search_key", "id"),
        sa.Index("ix_place_postcode_key", "postcode_key"),
        sa.Index("ix_place_latitude", "latitude"),
        # PostgreSQL reads a point's places from this index alone (SQLite from the table).
        sa.Index(
            "ix_place_tile", "tile", postgresql_include=["kind", "latitude", "longitude", "name"]
        ),
        *located_indexes("place"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(32))  # os_open_names, onspd, naptan, ...
    source_id: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    search_key: Mapped[str] = mapped_column(WORD_TYPE)
    # The H3 cell at resolution 4 (about 1,800 km²) the place is in: search near a pin reads
    # the (region, search key) index of the few regions round it.
    region: Mapped[str | None] = mapped_column(sa.String(16))
    # The grid square (``tile_of``) the place lies in: reverse lookup's index.
    tile: Mapped[int | None] = mapped_column(sa.BigInteger)
    postcode_key: Mapped[str | None] = mapped_column(
        sa.String(8).with_variant(sa.String(8, collation="C"), "postgresql")
    )
    locality: Mapped[str | None] = mapped_column(
        sa.String(200)
    )  # town or village, as the file says
    properties: Mapped[dict | None] = mapped_column(JSONType)


class PlaceWord(Base):
    """The index search reads for "starts a word": each place's search key from its second,
    third, ... word on ("lane" for "mill lane"; the whole key is ``place.search_key``).

    A prefix typed is a range of this table's index (``word >= 'lan' AND word < 'lan\uffff'``),
    which SQLite and PostgreSQL both answer from a B-tree without reading every name."""

    __tablename__ = "place_word"
    __table_args__ = (
        sa.Index("ix_place_word_word", "word", "place_id"),
        sa.Index("ix_place_word_region_word", "region", "word", "place_id"),
    )

    place_id: Mapped[int] = mapped_column(
        sa.ForeignKey("place.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(WORD_TYPE)
    region: Mapped[str | None] = mapped_column(sa.String(16))  # the place's, for the index

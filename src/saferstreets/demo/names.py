"""Invented English place, street and venue names for the demo county.

Names are built from parts that sound like the English Midlands; none is meant to be a real
place. Every choice draws from the caller's seeded generator, so names are reproducible.
"""

from __future__ import annotations

import numpy as np

TOWN_FIRST = (
    "Norbur",
    "Wyvern",
    "Ash",
    "Brack",
    "Cal",
    "Dun",
    "Elm",
    "Fern",
    "Gal",
    "Hart",
    "Kel",
    "Lang",
    "Marl",
    "Oak",
    "Pen",
    "Quen",
    "Rad",
    "Stan",
    "Thorn",
    "Ul",
    "Wend",
    "Yard",
    "Ald",
    "Bran",
    "Cold",
    "Ever",
    "Fox",
    "Gren",
    "Hol",
    "Ket",
    "Lox",
    "Mar",
    "Nether",
    "Orm",
    "Redd",
    "Sil",
    "Tad",
    "Wick",
    "Whit",
    "Bur",
)
VILLAGE_FIRST = (
    "Little ",
    "Great ",
    "Long ",
    "Much ",
    "Upper ",
    "Nether ",
    "Church ",
    "Cold ",
    "King's ",
    "Sut",
    "Eas",
    "Wes",
    "Hin",
    "Bix",
    "Chol",
    "Dray",
    "Eyd",
    "Flit",
    "Grims",
    "Hel",
    "Ick",
    "Lud",
    "Morc",
    "Nob",
    "Pid",
    "Rux",
    "Scal",
    "Tew",
    "Ux",
    "Wold",
    "Yel",
    "Zeal",
)
TOWN_SECOND = (
    "bury",
    "ford",
    "ley",
    "ham",
    "ton",
    "well",
    "combe",
    "wick",
    "field",
    "borough",
    "stow",
    "hampton",
    "minster",
    "bridge",
    "worth",
    "dale",
    "brook",
    "cote",
    "thorpe",
    "by",
)
VILLAGE_SUFFIX = (
    "",
    "",
    "",
    " Parva",
    " Magna",
    " St Mary",
    " End",
    " Green",
    " Heath",
    " on the Hill",
)
TOWN_WARD_QUALIFIERS = {
    "N": ("North", "Northfields", "Upper"),
    "S": ("South", "Southgate", "Lower"),
    "E": ("East", "Eastbrook", "Abbey"),
    "W": ("West", "Westfield", "Castle"),
}
TOWN_WARD_LOCAL = (
    "Abbey",
    "Priory",
    "Park",
    "Meadows",
    "Mill",
    "Grange",
    "Chase",
    "Vale",
    "Heath",
    "Fields",
    "Riverside",
    "St Michael's",
    "St John's",
    "Cross",
    "Common",
    "Moor",
    "Gate",
    "Hill",
)
STREET_FIRST = (
    "Church",
    "Mill",
    "Station",
    "Victoria",
    "Albert",
    "Queen's",
    "King's",
    "Orchard",
    "Meadow",
    "Chapel",
    "School",
    "Park",
    "Manor",
    "Willow",
    "Beech",
    "Cedar",
    "Rowan",
    "Hawthorn",
    "Elm",
    "Oak",
    "Ash",
    "Cherry",
    "Primrose",
    "Bluebell",
    "Foxglove",
    "Kestrel",
    "Heron",
    "Swallow",
    "Brook",
    "Spring",
    "Well",
    "Windmill",
    "Forge",
    "Tannery",
    "Granary",
    "Malting",
    "Cooper's",
    "Fletcher's",
    "Baker's",
    "Bell",
    "Crown",
    "Swan",
    "Nelson",
    "Wellington",
    "Gladstone",
    "Carlton",
    "Hampden",
    "Milton",
    "Tennyson",
    "Shelley",
    "Keats",
    "Wordsworth",
    "Darwin",
    "Newton",
    "Faraday",
    "Brunel",
    "Telford",
    "Stephenson",
    "Grange",
    "Priory",
    "Abbey",
    "Castle",
    "Bridge",
    "Ferry",
    "Canal",
    "Lock",
    "Wharf",
    "Quarry",
    "Copse",
    "Spinney",
    "Larch",
    "Holly",
    "Ivy",
    "Laurel",
    "Poplar",
    "Sycamore",
    "Chestnut",
    "Hazel",
    "Juniper",
)
STREET_KIND = (
    "Road",
    "Road",
    "Road",
    "Street",
    "Close",
    "Close",
    "Avenue",
    "Lane",
    "Lane",
    "Way",
    "Drive",
    "Gardens",
    "Crescent",
    "Court",
    "Place",
    "Rise",
    "View",
    "Mews",
    "Walk",
    "Grove",
    "Row",
)
NTE_STREETS = (
    "High Street",
    "Market Street",
    "Bridge Street",
    "Church Street",
    "The Parade",
    "Sheep Street",
    "George Street",
    "Castle Street",
    "Market Square",
    "Wharf Street",
)
PUB_FIRST = (
    "Red",
    "White",
    "Black",
    "Golden",
    "Royal",
    "Old",
    "Green",
    "Blue",
    "Crooked",
    "Jolly",
    "Three",
    "Nag's",
    "King's",
    "Queen's",
    "Bishop's",
    "Plough and",
    "Wheatsheaf and",
)
PUB_SECOND = (
    "Lion",
    "Hart",
    "Swan",
    "Bull",
    "Horse",
    "Crown",
    "Anchor",
    "Bell",
    "Boar",
    "Cock",
    "Feathers",
    "Harrow",
    "Sheaf",
    "Wyvern",
    "Ferryman",
    "Drover",
    "Tanner",
    "Weaver",
)
BAR_NAMES = (
    "Revolve",
    "The Vault",
    "Bar Nova",
    "Lounge 41",
    "The Cellar",
    "Kasbah",
    "Velvet",
    "Hideout",
    "Copper Rooms",
    "The Assembly",
    "Neon",
    "Echo",
    "Tonic",
    "Sugar",
    "Platform Nine",
    "Dusk",
)
CLUB_NAMES = (
    "Pulse",
    "Ministry Rooms",
    "Atlas",
    "Eclipse",
    "Loft",
    "Vibe",
    "Warehouse",
    "Onyx",
    "Prism",
)
PARK_KINDS = ("Park", "Recreation Ground", "Gardens", "Meadows", "Common", "Fields", "Green")
PATH_NAMES = (
    "Riverside Path",
    "Canal Towpath",
    "Old Railway Walk",
    "Cemetery Path",
    "Jubilee Way",
    "Millstream Walk",
    "Cut-through to Station Road",
    "Brookside Footpath",
    "Allotment Path",
    "Twitten Lane",
    "Greenway",
    "Back Lane footpath",
)
UNDERPASS_NAMES = (
    "Ring Road underpass",
    "Bypass subway",
    "Station underpass",
    "Relief Road subway",
    "Roundabout subway",
    "Dual carriageway underpass",
)
SHOPPING = (
    "The Maltings",
    "Market Walk",
    "The Arcade",
    "Riverside Centre",
    "Queensgate",
    "The Mall",
)
RIVERS = ("Wyvern", "Cherwell Minor", "Lyde", "Tove", "Ise", "Alne", "Swere")


class NameBank:
    """Draws unique names from the seeded generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.used_first: set[str] = set()

    def _pick(self, options: tuple[str, ...]) -> str:
        return str(options[int(self.rng.integers(len(options)))])

    def _unique(self, make: object) -> str:
        for _ in range(200):
            name = make()  # type: ignore[operator]
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name bank exhausted")

    def town(self) -> str:
        for _ in range(200):
            first = self._pick(TOWN_FIRST)
            if first not in self.used_first:
                self.used_first.add(first)
                return self._unique(lambda first=first: first + self._pick(TOWN_SECOND))
        raise RuntimeError("name bank exhausted")

    def village(self) -> str:
        def make() -> str:
            first = self._pick(VILLAGE_FIRST)
            if first.endswith(" "):
                return first + self._pick(TOWN_FIRST) + self._pick(TOWN_SECOND)
            return first + self._pick(TOWN_SECOND) + self._pick(VILLAGE_SUFFIX)

        return self._unique(make)

    def districts(self, main_towns: list[str]) -> list[str]:
        """District names: mostly the main town's name, some 'North Wyvernshire' or 'X Vale'."""
        out: list[str] = []
        compass = ["North Wyvernshire", "South Wyvernshire", "East Wyvernshire"]
        for i, town in enumerate(main_towns):
            r = self.rng.random()
            if i < 3 or r < 0.45:
                out.append(town)
            elif r < 0.7 and compass:
                out.append(compass.pop(0))
            elif r < 0.85:
                out.append(f"{self._pick(RIVERS)} Vale")
            else:
                out.append(f"{town} and {self._pick(TOWN_FIRST)}{self._pick(TOWN_SECOND)}")
        seen: set[str] = set()
        for i, name in enumerate(out):
            if name in seen:
                out[i] = main_towns[i]
            seen.add(out[i])
        return out

    def town_ward(self, town: str, dx: float, dy: float) -> str:
        key = ("E" if dx > 0 else "W") if abs(dx) > abs(dy) else "N" if dy > 0 else "S"
        if self.rng.random() < 0.55:
            return f"{town} {self._pick(TOWN_WARD_QUALIFIERS[key])}"
        return f"{town} {self._pick(TOWN_WARD_LOCAL)}"

    def rural_ward(self, village: str) -> str:
        r = self.rng.random()
        if r < 0.5:
            return village
        if r < 0.8:
            return f"{village} and {self._pick(TOWN_FIRST)}{self._pick(TOWN_SECOND)}"
        return f"{village} Rural"

    def streets(self, n: int) -> list[str]:
        out: list[str] = []
        while len(out) < n:
            name = f"{self._pick(STREET_FIRST)} {self._pick(STREET_KIND)}"
            if name not in out:
                out.append(name)
        return out

    def nte_streets(self, n: int) -> list[str]:
        picks = self.rng.choice(len(NTE_STREETS), size=n, replace=False)
        return [NTE_STREETS[int(i)] for i in picks]

    def venue(self) -> tuple[str, str]:
        r = self.rng.random()
        if r < 0.55:
            return self._unique(
                lambda: f"The {self._pick(PUB_FIRST)} {self._pick(PUB_SECOND)}"
            ), "pub"
        if r < 0.85:
            return self._unique(lambda: self._pick(BAR_NAMES) + self._suffix()), "bar"
        return self._unique(lambda: self._pick(CLUB_NAMES) + self._suffix()), "club"

    def _suffix(self) -> str:
        return (
            ""
            if self.rng.random() < 0.6
            else f" {self._pick(('Bar', 'Lounge', 'Rooms', 'Club', 'Social'))}"
        )

    def park(self, town: str) -> str:
        first = self._pick(
            (
                "Victoria",
                "Memorial",
                "Jubilee",
                "King George's",
                "Abbey",
                "Castle",
                "Priory",
                "Millfield",
                "Brook",
                "Coronation",
                "Elizabeth",
                "Hill",
            )
        )
        return self._unique(lambda: f"{first} {self._pick(PARK_KINDS)}, {town}")

    def country_park(self, village: str) -> str:
        return self._unique(
            lambda: f"{village} {self._pick(('Country Park', 'Woods', 'Lakes', 'Common'))}"
        )

    def path(self, town: str) -> str:
        return self._unique(lambda: f"{self._pick(PATH_NAMES)}, {town}")

    def underpass(self, town: str) -> str:
        return self._unique(lambda: f"{self._pick(UNDERPASS_NAMES)}, {town}")

    def shopping_centre(self, town: str) -> str:
        return self._unique(lambda: f"{self._pick(SHOPPING)}, {town}")

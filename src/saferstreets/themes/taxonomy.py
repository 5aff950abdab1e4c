"""The taxonomy of concerns: the reasons women and girls give for feeling unsafe, and the settings.

One list serves the public form (reasons to tick), survey mappings (concern codes), theme
detection of free text (descriptions and examples drive the zero-shot model) and every chart.
The environmental and behavioural reasons follow StreetSafe (police.uk); the rest are what
surveys and harassment-report corpora (SafeCity) show people describe.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    code: str
    label: str  # plain words, shown to the public
    kind: str  # environmental, behavioural, other
    description: str
    examples: tuple[str, ...] = ()


THEMES: tuple[Theme, ...] = (
    Theme(
        "poor_lighting",
        "Poor lighting",
        "environmental",
        "The place is dark or badly lit; street lights are broken, dim or switched off at night.",
        (
            "the street lights were out",
            "it is pitch black under the bridge",
            "no lighting along the path",
        ),
    ),
    Theme(
        "no_cctv",
        "No CCTV",
        "environmental",
        "There are no cameras, so nobody would see or record what happens.",
        ("there are no cameras anywhere", "the CCTV never works", "nothing would be recorded"),
    ),
    Theme(
        "isolated",
        "Isolated or empty place",
        "environmental",
        "Few or no other people around; deserted, quiet or remote, so no one would help.",
        ("nobody else around", "completely deserted at night", "no one would hear you"),
    ),
    Theme(
        "blind_spots",
        "Blind spots and poor layout",
        "environmental",
        "Hidden corners, alleys, underpasses or layouts where someone could hide or trap you.",
        (
            "a narrow alley with no way out",
            "the underpass has hidden corners",
            "you can't see round the bend",
        ),
    ),
    Theme(
        "overgrown",
        "Overgrown or blocked sightlines",
        "environmental",
        "Bushes, trees or hedges are overgrown, blocking sightlines and giving cover.",
        ("the hedges are so overgrown", "bushes right up to the path", "trees block the view"),
    ),
    Theme(
        "rundown",
        "Rundown or derelict",
        "environmental",
        "Derelict buildings, graffiti, litter, broken fences or boarded-up shops.",
        (
            "boarded-up shops and graffiti",
            "an empty derelict building",
            "broken glass and litter everywhere",
        ),
    ),
    Theme(
        "verbal_harassment",
        "Verbal harassment by a person or group",
        "behavioural",
        "Shouting, insults, catcalling, abuse or intimidation by one person or a group.",
        ("a group of men shouted at me", "catcalled every time", "yelled abuse at us"),
    ),
    Theme(
        "groups_of_men",
        "Groups of men or boys",
        "behavioural",
        "Groups of men or boys gathering, hanging around or loitering, even when they say nothing.",
        (
            "groups of men hanging around the station",
            "lads loitering outside the shop",
            "a gang of boys on the corner",
        ),
    ),
    Theme(
        "being_followed",
        "Being followed",
        "behavioural",
        "Someone followed, tailed, stalked or walked after her, on foot or in a car.",
        (
            "a man followed me home",
            "he kept walking behind me",
            "a car slowed down and followed me",
        ),
    ),
    Theme(
        "staring",
        "Staring or leering",
        "behavioural",
        "Being stared at, leered at or watched in a way that felt threatening.",
        ("he would not stop staring", "leering at us", "men watching us the whole time"),
    ),
    Theme(
        "sexual_comments",
        "Sexual comments or gestures",
        "behavioural",
        "Sexual remarks, comments about her body, propositions or obscene gestures.",
        ("made comments about my body", "asked me for sex", "obscene gestures from a van"),
    ),
    Theme(
        "touching",
        "Touching or groping",
        "behavioural",
        "Unwanted touching, groping, brushing against, grabbing or any sexual contact.",
        ("someone groped me", "he grabbed my waist", "rubbed against me on the bus"),
    ),
    Theme(
        "indecent_exposure",
        "Indecent exposure",
        "behavioural",
        "Someone exposed himself or performed a sexual act in public.",
        ("a man exposed himself", "he was flashing at women", "masturbating in the park"),
    ),
    Theme(
        "taking_pictures",
        "Taking pictures",
        "behavioural",
        "Photographing or filming her without consent, including upskirting.",
        ("he took photos of me", "filming us on his phone", "taking pictures up my skirt"),
    ),
    Theme(
        "drink_drugs",
        "Drink and drugs",
        "behavioural",
        "Drunk or drugged people, drug dealing, spiking or rowdy drinkers.",
        ("drunk men outside the pub", "people dealing drugs", "my drink was spiked"),
    ),
    Theme(
        "transport",
        "Public transport and taxis",
        "other",
        "Feeling unsafe at stations, bus stops, on trains, buses or in taxis, or waiting for them.",
        ("waiting alone at the bus stop", "the station at night", "the last train home"),
    ),
    Theme(
        "specific_individual",
        "A specific individual",
        "behavioural",
        "A particular known person who keeps causing fear: a named man, a neighbour, an ex.",
        (
            "the same man is always there",
            "my ex keeps turning up",
            "a neighbour who harasses women",
        ),
    ),
)

OTHER = "other"
THEME_CODES: tuple[str, ...] = tuple(t.code for t in THEMES)
BY_CODE: dict[str, Theme] = {t.code: t for t in THEMES}


@dataclass(frozen=True)
class Setting:
    code: str
    label: str


SETTINGS: tuple[Setting, ...] = (
    Setting("park", "Parks and open spaces"),
    Setting("quiet_street", "Quiet streets"),
    Setting("busy_place", "Busy places (high streets, shopping centres)"),
    Setting("public_transport", "Public transport (stations, stops, vehicles)"),
    Setting("night_time_economy", "Night-time economy (pubs, clubs, bars)"),
    Setting("home_area", "Around home"),
    Setting("car_park", "Car parks"),
    Setting("underpass", "Underpasses and subways"),
    Setting("taxi_rank", "Taxi ranks"),
)
SETTING_CODES: tuple[str, ...] = tuple(s.code for s in SETTINGS)


def label(code: str) -> str:
    """The public label for a theme or setting code (the code itself if unknown)."""
    if code in BY_CODE:
        return BY_CODE[code].label
    for setting in SETTINGS:
        if setting.code == code:
            return setting.label
    return "Other" if code == OTHER else code

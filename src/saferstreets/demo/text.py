"""A template grammar for the free text of the demo's reports and survey answers.

Plain British English, varied enough that theme detection is not a keyword lookup: each theme has
clauses that use its obvious words and clauses that never do ("you can't see your hand in front
of your face" for poor lighting); texts mix several themes; some mention a theme only to deny it
("the lighting is fine but ..."); place names appear; a few texts carry typos, lost apostrophes or
no capitals. ``compose`` returns the text with the themes it expresses, so theme detection can be
scored against what the grammar meant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WHO = (
    "a man",
    "a group of lads",
    "two men",
    "some older boys",
    "a bloke in a white van",
    "a guy",
    "a group of men",
    "an older man",
    "a man on a bike",
    "some teenage boys",
    "a man in a hoodie",
)

# Per theme: clauses with the theme's usual words, then clauses without them.
CLAUSES: dict[str, tuple[str, ...]] = {
    "poor_lighting": (
        "the street lights have been out for weeks",
        "there's hardly any lighting along {place}",
        "half the lamps are broken so it's really dark",
        "the lights go off at midnight and it is pitch black",
        "it is so badly lit you can't see who is coming towards you",
        "you literally can't see your hand in front of your face",
        "once the sun goes down you're walking blind",
        "the council switched them off to save money and now it's black as anything",
    ),
    "no_cctv": (
        "there's no CCTV anywhere along there",
        "the camera on the corner has been broken for months",
        "if anything happened nobody would ever know who did it because nothing is recorded",
        "there are no cameras so they know they can get away with it",
        "nothing there would catch it on film",
    ),
    "isolated": (
        "there's nobody else around once the shops shut",
        "it's completely deserted after about 7pm",
        "if you screamed no one would hear you",
        "you can walk the whole way without seeing another person",
        "it's really quiet and cut off from the houses",
        "there's not a soul about",
    ),
    "blind_spots": (
        "there are hidden corners where someone could easily wait",
        "the alley has no way out at one end",
        "you can't see round the bend until you're right on top of it",
        "the underpass twists so you never know who's inside",
        "there are loads of places for someone to hide",
        "it's a narrow cut-through with high fences both sides",
    ),
    "overgrown": (
        "the hedges are so overgrown they nearly meet over the path",
        "the bushes come right up to the path",
        "the trees haven't been cut back in years and block the view",
        "brambles everywhere so you can't see the field",
        "it's like walking through a tunnel of green",
    ),
    "rundown": (
        "it's covered in graffiti and the shops are boarded up",
        "there's broken glass and rubbish everywhere",
        "the old pub is derelict and people hang around in it",
        "the fences are smashed and it just feels neglected",
        "it looks like nobody cares about the place",
    ),
    "verbal_harassment": (
        "{who} shouted at me from across the road",
        "{who} started yelling abuse at me and my friend",
        "I got called names by {who} hanging around outside",
        "{who} kept making comments and laughing as I walked past",
        "{who} were swearing at us and wouldn't leave us alone",
        "they started on at us for no reason",
    ),
    "being_followed": (
        "{who} followed me all the way from the station",
        "I realised {who} was walking behind me and speeding up when I did",
        "a car slowed down and kept pace with me for ages",
        "he crossed the road when I crossed, twice",
        "{who} tailed me until I went into a shop",
        "I kept hearing footsteps behind me and when I turned he was still there",
    ),
    "staring": (
        "{who} just stood there staring at me",
        "men outside leer at every woman who walks past",
        "he kept watching me the whole time I was waiting",
        "they look you up and down like you're a piece of meat",
        "he wouldn't take his eyes off us",
    ),
    "sexual_comments": (
        "{who} made comments about my body",
        "I got catcalled and wolf-whistled by {who}",
        "he asked if I wanted to go back to his for sex",
        "{who} made crude gestures at us from a car",
        "they said disgusting things about what they'd do to me",
        "someone shouted 'nice legs' and his mates all laughed",
    ),
    "touching": (
        "{who} grabbed my waist as I went past",
        "someone groped me in the crowd",
        "a man kept brushing up against me",
        "he put his hand on my bum and laughed",
        "a guy wouldn't let go of my arm",
        "he pushed himself against me on the bus",
    ),
    "indecent_exposure": (
        "a man exposed himself to me",
        "there was a man flashing at women by the gate",
        "he had his trousers down and was touching himself",
        "a man was performing a sex act in full view of the path",
    ),
    "taking_pictures": (
        "{who} took photos of me without asking",
        "he was filming us on his phone the whole time",
        "I caught a man trying to take pictures up my skirt",
        "they were recording girls walking past and laughing",
        "he held his phone up at me and I heard it click",
    ),
    "drink_drugs": (
        "drunk men spill out of the pubs at closing time",
        "there's dealing going on in the car park",
        "I think my drink was spiked",
        "people are off their heads and getting aggressive",
        "groups drinking on the benches all day",
        "you can smell weed and there are always people selling",
    ),
    "transport": (
        "waiting at the bus stop on my own is horrible",
        "the station is deserted when the last train gets in",
        "the taxi rank is chaos at 2am and there's no marshal",
        "the bus shelter has no timetable and you can be there for 40 minutes",
        "the walk from the platform to the car park is the worst bit",
        "the driver wouldn't let me off where I asked",
    ),
    "specific_individual": (
        "the same man is there every single night",
        "my ex keeps turning up when I finish work",
        "a neighbour keeps knocking and hanging around outside my flat",
        "there's one man everyone knows about who bothers girls",
        "it's always the same guy with the dog",
    ),
}

# Phrases that mention a theme only to set it aside ("not this, but ...").
NEGATIONS: dict[str, tuple[str, ...]] = {
    "poor_lighting": (
        "the lighting is fine but",
        "it's well lit, it isn't that,",
        "even though the street lights work",
    ),
    "no_cctv": (
        "there is CCTV but",
        "there are cameras everywhere and still",
        "cameras don't help when",
    ),
    "isolated": ("it's not empty, there are loads of people about, but", "even with people around"),
    "drink_drugs": (
        "it isn't drunk people that bother me,",
        "nobody was drinking, they were sober, and",
    ),
    "overgrown": ("the hedges were cut back last year but", "it's not overgrown any more but"),
    "rundown": ("it's a nice area really but", "it's been done up nicely but"),
    "transport": ("the buses are fine but", "I wasn't waiting for a bus or anything,"),
}

OPENERS = (
    "",
    "",
    "",
    "I was walking home from {anchor} and",
    "Every time I go through {place}",
    "Coming back from a night out on {street},",
    "My daughter walks this way to school and",
    "Not the first time this has happened.",
    "On my way to work at {time_phrase}",
    "Me and my friend were at {place} and",
    "Last {day},",
    "Just so you know,",
    "I used to walk this way every day but",
    "I'm 16 and",
)
CLOSERS = (
    "",
    "",
    "",
    "I now take the long way round.",
    "I don't feel safe there at all.",
    "Please do something.",
    "It would be good to see police around at weekends.",
    "I won't go there on my own any more.",
    "It's been like this for months.",
    "Other women I know say the same.",
    "I ended up calling my mum to walk me home.",
    "I had my keys in my hand the whole way.",
    "Somebody is going to get hurt.",
)
DAYS = ("Friday", "Saturday", "Thursday", "Sunday night", "weekend", "Tuesday")
TIME_PHRASES = ("6am", "half five", "about 7 in the morning", "early o'clock")

SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "poor_lighting": (
        "better street lighting on {place}",
        "lights that stay on after midnight",
        "fix the broken lamps",
        "proper lighting in the parks",
    ),
    "no_cctv": ("CCTV that actually works", "cameras at the station and the underpass"),
    "isolated": ("more people about, keep the cafes open later", "a safe route home that's busy"),
    "blind_spots": ("get rid of the alleyways", "mirrors on the corners of the underpass"),
    "overgrown": ("cut the hedges back", "clear the bushes along the paths"),
    "rundown": ("do up the empty shops", "clean the graffiti off"),
    "verbal_harassment": (
        "men calling out their mates when they shout at women",
        "more police on foot",
    ),
    "being_followed": ("safe havens in shops you can go into", "a walk-home scheme"),
    "staring": ("taking it seriously when we report it",),
    "sexual_comments": ("education in schools about respect", "stop treating catcalling as a joke"),
    "touching": ("more staff on the buses", "door staff who look out for women"),
    "indecent_exposure": ("police patrols in the park",),
    "taking_pictures": ("laws that stop people filming us",),
    "drink_drugs": ("door staff who step in", "stop the dealing in the car park"),
    "transport": (
        "buses that run later",
        "a taxi marshal on Friday and Saturday",
        "staff at the station at night",
    ),
    "specific_individual": ("deal with the man everyone already knows about",),
}
GENERAL_SUGGESTIONS = (
    "more police",
    "visible police at night",
    "I don't know really",
    "nothing, it's fine where I live",
    "street pastors at weekends",
    "better buses",
    "more people listening to us",
)

URGENT_TEXTS = (
    "He is outside right now and won't go away. I'm hiding in the shop on {street}. "
    "Please send someone.",
    "I think someone is following me right now, he's been behind me since {place}.",
    "The man who lives at number 14 {street}, called Gary, keeps waiting for my daughter "
    "after school and tried to get her into his car yesterday.",
    "My ex Darren Hollis keeps turning up at the station when I finish my shift "
    "and said he'd hurt me if I told anyone.",
    "There's a man in a silver car who has been parked by {place} every afternoon "
    "watching the girls. Today he tried to talk my 12 year old into getting in.",
    "A man called Lee who works at the takeaway on {street} keeps grabbing girls "
    "and one of them is only 14.",
)


@dataclass(frozen=True)
class Composed:
    text: str
    themes: tuple[str, ...]  # the themes the text expresses
    negated: tuple[str, ...]  # themes named only to be set aside


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _fill(template: str, rng: np.random.Generator, slots: dict[str, str]) -> str:
    values = dict(slots)
    values.setdefault("who", _pick(rng, WHO))
    values.setdefault("day", _pick(rng, DAYS))
    values.setdefault("time_phrase", _pick(rng, TIME_PHRASES))
    return template.format(**values)


def _sentence(s: str) -> str:
    s = s.strip()
    if not s:
        return s
    s = s[0].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def typo(text: str, rng: np.random.Generator) -> str:
    """One realistic slip: a swapped or dropped letter, lost apostrophes, or no capitals."""
    kind = int(rng.integers(4))
    if kind == 0:
        return text.replace("'", "")
    if kind == 1:
        return text.lower()
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long_words:
        return text
    i = long_words[int(rng.integers(len(long_words)))]
    w = words[i]
    j = int(rng.integers(1, len(w) - 2))
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if kind == 2 else w[:j] + w[j + 1 :]
    return " ".join(words)


def compose(
    rng: np.random.Generator,
    themes: list[str],
    *,
    place: str,
    street: str,
    anchor: str,
    typo_rate: float = 0.08,
) -> Composed:
    """A report's free text expressing ``themes`` (in order), with optional negation and typos."""
    slots = {"place": place, "street": street, "anchor": anchor}
    expressed: list[str] = []
    negated: list[str] = []
    parts: list[str] = []
    opener = _fill(_pick(rng, OPENERS), rng, slots)
    clauses = [_fill(_pick(rng, CLAUSES[t]), rng, slots) for t in themes if t in CLAUSES]
    expressed = [t for t in themes if t in CLAUSES]
    # Sometimes open by setting aside a theme the reporter did not mean.
    spare = [t for t in NEGATIONS if t not in themes]
    if clauses and spare and rng.random() < 0.18:
        neg = spare[int(rng.integers(len(spare)))]
        clauses[0] = f"{_pick(rng, NEGATIONS[neg])} {clauses[0]}"
        negated.append(neg)
    if opener.endswith("."):
        parts.append(opener)
    elif opener and clauses:
        clauses[0] = f"{opener} {clauses[0]}"
    joiners = (" and ", ". Also ", ", plus ", ". On top of that, ", ". ", " and then ")
    body = ""
    for i, clause in enumerate(clauses):
        if i == 0:
            body = clause
        else:
            joiner = _pick(rng, joiners)
            body += joiner + (clause[0].upper() + clause[1:] if joiner.endswith(". ") else clause)
    if body:
        parts.append(_sentence(body))
    closer = _pick(rng, CLOSERS)
    if closer:
        parts.append(closer)
    text = " ".join(parts).replace("..", ".")
    if rng.random() < typo_rate:
        text = typo(text, rng)
    return Composed(text, tuple(expressed), tuple(negated))


def suggestion(rng: np.random.Generator, concerns: list[str], *, place: str) -> str:
    """A survey answer to "what would make you feel safer?"."""
    options = [s for c in concerns for s in SUGGESTIONS.get(c, ())]
    n = 1 if rng.random() < 0.6 or len(options) < 2 else 2
    if not options or rng.random() < 0.15:
        text = _pick(rng, GENERAL_SUGGESTIONS)
    else:
        picks = [
            options[int(i)]
            for i in rng.choice(len(options), size=min(n, len(options)), replace=False)
        ]
        text = " and ".join(p.format(place=place) for p in picks)
    text = _sentence(text)
    if rng.random() < 0.1:
        text = typo(text, rng)
    return text


def urgent(rng: np.random.Generator, *, place: str, street: str) -> str:
    """A report a triage must flag: danger now, or a named individual."""
    return _pick(rng, URGENT_TEXTS).format(place=place, street=street)

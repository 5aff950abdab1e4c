# ruff: noqa: E501 - the lexicon reads best one cue group to a line
"""Zero-shot theme detection: no labelled examples, only the taxonomy and a lexicon of cues.

Two channels are combined for each theme:

1. **Cues** — hand-written patterns (stems with optional endings, short phrases) for the ways
   people in Britain describe each concern ("the street lights were out", "a lad followed me",
   "fly-tipping", "kerb-crawling"). A cue is *negated* when a negator (not, never, n't, no one,
   nobody...) stands in the four words before it in the same clause ("it wasn't dark"), and
   a theme is *reassured* in a clause that says its subject is fine ("the lighting is fine but
   the underpass..."): cues in negated or reassured clauses do not count.
2. **Similarity** — cosine similarity of stemmed word uni- and bigram TF-IDF vectors between the
   text (reassured clauses removed) and the theme's description, label, examples and cue words.
   It adds confidence to cue matches and, above a high bar, finds a theme on its own.

The confidence of a theme is ``1 - exp(-(cue weight + SIM_WEIGHT * similarity))``; a theme is
present at confidence >= ``threshold`` (0.5 by default: one strong cue, or a weak cue backed
by similarity). Clause splitting happens at sentence ends, semicolons and "but", "although",
"though", "however", "except", "whereas".

References
----------
Chapman, W. W. et al. (2001). A simple algorithm for identifying negated findings and diseases
in discharge summaries (NegEx). Journal of Biomedical Informatics 34(5), 301-310 (the
negation window).
Home Office / police.uk StreetSafe: the environmental and behavioural reasons of the taxonomy.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from saferstreets.themes.taxonomy import THEMES

STRONG = 1.0
MEDIUM = 0.7
WEAK = 0.35
SIM_WEIGHT = 1.5
SIM_ALONE = 0.42  # similarity at which a theme is found with no cue at all

# (pattern, weight). Patterns run on lower-cased text with straightened apostrophes.
CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "poor_lighting": (
        (r"\bpitch[- ](?:black|dark)\b", STRONG),
        (
            r"\b(?:unlit|badly[- ]lit|poorly[- ]lit|dimly[- ]lit|not lit|isn't lit|wasn't lit)\b",
            STRONG,
        ),
        (
            r"\b(?:poor|bad|no|little|dim|broken|inadequate|rubbish|terrible|limited|not enough|"
            r"lack of|any) (?:street ?)?(?:light(?:ing|s)?|lamps?)\b",
            STRONG,
        ),
        (
            r"\b(?:street ?)?(?:light(?:ing|s)?|lamps?) (?:\w+ ){0,3}(?:out|off|broken|not working|"
            r"don't work|doesn't work|never work\w*|dim|flicker\w*|go off|went off|turned off|"
            r"switched off|have gone)\b",
            STRONG,
        ),
        (r"\b(?:so|really|very|too|quite|completely|totally|extremely) dark\b", STRONG),
        (
            r"\bdark(?:ness|ened)?\b(?<!after dark)(?<!gets dark)(?<!got dark)(?<!before dark)",
            MEDIUM,
        ),
        (r"\bcan't see (?:a thing|anything|where|your hand)\b", MEDIUM),
        (r"\b(?:street ?lights?|lighting|gloomy|shadows?|shadowy|torch)\b", WEAK),
    ),
    "no_cctv": (
        (
            r"\b(?:no|without|lack of|not any|aren't any|isn't any|weren't any|wasn't any|never any) "
            r"(?:security |working )?(?:cctv|cameras?)\b",
            STRONG,
        ),
        (
            r"\b(?:cctv|cameras?) (?:\w+ ){0,3}(?:broken|don't work|doesn't work|never works?|"
            r"not working|switched off|turned off|fake|pointing the wrong way)\b",
            STRONG,
        ),
        (r"\bnot covered by (?:cctv|cameras?)\b", STRONG),
        (
            r"\bnothing (?:would|will|is|gets|got) (?:be )?(?:recorded|filmed|caught on camera)\b",
            STRONG,
        ),
        (r"\bno (?:evidence|record|footage)\b", MEDIUM),
        (r"\b(?:cctv|security cameras?)\b", WEAK),
    ),
    "isolated": (
        (r"\b(?:deserted|isolated|secluded|desolate|middle of nowhere)\b", STRONG),
        (
            r"\b(?:nobody|no ?one|no people|not a soul|no-one) (?:else )?(?:\w+ )?(?:around|about|there|"
            r"in sight|to help|would (?:hear|help|see|notice)|could (?:hear|help|see)|passes|walks)\b",
            STRONG,
        ),
        (r"\b(?:completely|really|very|so|totally|eerily) (?:quiet|empty)\b", STRONG),
        (
            r"\bempty (?:streets?|roads?|car ?parks?|parks?|paths?|stations?|platforms?|fields?|estate)\b",
            STRONG,
        ),
        (r"\bno (?:houses|passers?-?by|footfall|one about|witnesses)\b", STRONG),
        (r"\b(?:on my own|by myself|alone|remote|lonely|quiet)\b", WEAK),
    ),
    "blind_spots": (
        (r"\bblind (?:spots?|corners?|bends?)\b", STRONG),
        (r"\bhidden (?:corners?|spots?|areas?|entrances?|paths?)\b", STRONG),
        (
            r"\b(?:alley(?:way)?s?|underpass(?:es)?|subways?|snickets?|ginnels?|jitty|twittens?|"
            r"cut-?throughs?|tunnels?|stairwells?)\b",
            STRONG,
        ),
        (r"\bnarrow (?:paths?|passages?|lanes?|walkways?|footpaths?|bridges?|alleys?)\b", STRONG),
        (
            r"\b(?:can't|cannot|couldn't|can not) see (?:round|around|who|what's (?:round|around|ahead)|"
            r"ahead|the end|out)\b",
            STRONG,
        ),
        (
            r"\b(?:no way out|dead[- ]end|one way in|only one exit|trapped|cornered|boxed in)\b",
            STRONG,
        ),
        (r"\b(?:someone|anyone|people|men) (?:could|can|might) (?:be )?hid(?:e|ing)\b", STRONG),
        (
            r"\b(?:hiding (?:places?|spots?)|tucked away|out of sight|nooks?|recess(?:es)?)\b",
            STRONG,
        ),
        (r"\b(?:corners?|doorways?|bends?|behind the (?:shops|garages|bins|station))\b", WEAK),
    ),
    "overgrown": (
        (r"\bover-?grown\b", STRONG),
        (
            r"\b(?:hedges?|hedgerows?|bush(?:es)?|shrubs?|trees?|undergrowth|brambles|vegetation|"
            r"ivy|foliage|branches|nettles|greenery) (?:\w+ ){0,4}(?:block\w*|hid(?:e|es|ing)|cover\w*|"
            r"so (?:thick|high|tall|dense)|need\w* (?:cutting|trimming)|not (?:been )?cut|"
            r"over(?:hang\w*)?|right up to|encroach\w*|grown)\b",
            STRONG,
        ),
        (r"\b(?:sight ?lines?|can't see through)\b", MEDIUM),
        (
            r"\b(?:hedges?|hedgerows?|bushes|shrubs|undergrowth|brambles|vegetation|foliage|"
            r"nettles)\b",
            WEAK,
        ),
    ),
    "rundown": (
        (
            r"\b(?:derelict|run-?down|boarded[- ]up|dilapidated|disused|abandoned|neglected|"
            r"falling apart|shabby|grotty|decrepit|squalid)\b",
            STRONG,
        ),
        (
            r"\b(?:graffiti|vandal\w*|fly-?tip\w*|litter(?:ed|ing)?|rubbish|smashed|burnt[- ]out)\b",
            STRONG,
        ),
        (r"\bbroken (?:glass|windows?|fences?|bottles|benches?|gates?)\b", STRONG),
        (r"\bempty (?:shops|units|buildings?|houses|offices)\b", STRONG),
        (r"\b(?:needles|syringes|dirty|filthy|rough area|rough)\b", WEAK),
    ),
    "verbal_harassment": (
        (
            r"\b(?:shout\w*|yell\w*|scream\w* at|catcall\w*|cat-call\w*|wolf[- ]whistl\w*|whistl\w*|"
            r"heckl\w*|jeer\w*|taunt\w*|insult\w*|hurl\w* abuse|verbal(?:ly)? abus\w*|abuse|abusive|"
            r"swore|swearing|sworn at|name-?calling|called (?:me|us|her) (?:a |an |names)|"
            r"intimidat\w*|threaten\w*|hassl\w*|harass\w*|mocked|mocking|barked)\b",
            STRONG,
        ),
        (r"\b(?:beep\w*|honk\w*|hoot\w*)\b", MEDIUM),
        (
            r"\b(?:group|gang|crowd|bunch|load) of (?:\w+ ){0,2}(?:men|lads|boys|youths|teenagers|"
            r"guys|blokes|kids|youngsters)\b",
            MEDIUM,
        ),
        (
            r"\b(?:passing comments?|passed comments?|comment\w* at (?:me|us|her)|rude|aggressive)\b",
            MEDIUM,
        ),
        (r"\b(?:comments?|remarks?)\b", WEAK),
    ),
    "groups_of_men": (
        (
            r"\b(?:groups?|gangs?|crowds?|bunch) of (?:\w+ )?(?:men|lads|boys|youths|blokes|guys)\b",
            STRONG,
        ),
        (
            r"\b(?:men|lads|boys|youths|blokes|guys) (?:\w+ )?(?:hang\w* (?:round|around|about)|"
            r"loiter\w*)",
            STRONG,
        ),
        (r"\b(?:loiter\w*|hang\w* (?:round|around|about))\b", WEAK),
    ),
    "being_followed": (
        (
            r"\b(?:follow\w* (?:me|us|her|them|my|behind|home|along|into|onto|off)|(?:was|were|being|"
            r"been|got|get) followed|followed)\b",
            STRONG,
        ),
        (
            r"\b(?:stalk\w*|tail(?:ed|ing) (?:me|us|her)|kerb-?crawl\w*|curb-?crawl\w*|chased|"
            r"chasing (?:me|us|her)|came after (?:me|us|her)|ran after (?:me|us|her))\b",
            STRONG,
        ),
        (r"\bwalk\w* (?:right |close )?behind (?:me|us|her)\b", STRONG),
        (
            r"\b(?:car|van|driver|man|guy) (?:\w+ ){0,3}(?:slowed down|slowing down|crawl\w* alongside|"
            r"pulled up (?:beside|next to|alongside))\b",
            STRONG,
        ),
        (
            r"\b(?:kept pace|keeping pace|crossed (?:the road|over) (?:after|behind|when) (?:me|i|we))\b",
            STRONG,
        ),
    ),
    "staring": (
        (r"\b(?:stare|stared|staring|stares|leer\w*|ogl\w*|gawp\w*|gaz(?:e|ed|ing) at)\b", STRONG),
        (
            r"\b(?:eye(?:d|ing) (?:me|us|her|them|women|girls) up|eyeing (?:me|us|her)|"
            r"look\w* (?:me|us|her) up and down|undress\w* (?:me|us|her) with|check\w* (?:me|us|her) out|"
            r"eyes on (?:me|us))\b",
            STRONG,
        ),
        (
            r"\b(?:watch\w* (?:me|us|her|women|girls)|dirty looks?|indecent looks?|creepy looks?|"
            r"looking at (?:me|us|her)|looked at (?:me|us|her)|facial expressions?)\b",
            MEDIUM,
        ),
        (r"\b(?:looks|looking)\b", WEAK),
    ),
    "sexual_comments": (
        (
            r"\b(?:sexual|sexualised|sexually explicit|obscene|lewd|vulgar|crude|dirty|filthy|"
            r"disgusting|explicit|indecent) (?:comments?|remarks?|gestures?|jokes?|suggestions?|"
            r"innuendo|talk|language|propositions?|invites?|songs?|noises?|signs?)\b",
            STRONG,
        ),
        (
            r"\b(?:comment\w*|remarks?|shout\w*|said something|talk\w*) (?:\w+ ){0,2}(?:about|on) "
            r"(?:my|her|our|their) (?:body|bodies|bum|breasts?|boobs|legs|chest|figure|appearance|looks|"
            r"outfit|clothes|skirt|dress|arse|backside)\b",
            STRONG,
        ),
        (
            r"\b(?:asked|ask\w*|offer\w*) (?:me|us|her|girls|women) (?:\w+ ){0,2}(?:for sex|for a shag|"
            r"to have sex|back to his|to come home|to get in)\b",
            STRONG,
        ),
        (
            r"\b(?:propositioned|proposition\w*|blow\w* kisses|kissing noises|licked his lips|"
            r"wink\w* at|sexy|get your (?:tits|kit) out|nice (?:arse|ass|tits|legs|bum)|"
            r"how much (?:for|do you charge)|sexual invites?|songs? about|gestur\w*)\b",
            STRONG,
        ),
        (r"\b(?:passing comments?|passed comments?|comments?|remarks?|invites?)\b", WEAK),
    ),
    "touching": (
        (
            r"\b(?:grop\w*|fondl\w*|molest\w*|sexual(?:ly)? assault\w*|felt (?:me|her) up|"
            r"touch(?:ed|ing|es|y)? (?:me|my|us|her)|tried to touch|inappropriate(?:ly)? touch\w*|"
            r"unwanted (?:touch\w*|contact))\b",
            STRONG,
        ),
        (
            r"\b(?:grabb?\w* (?:me|my|us|her|at|hold of (?:me|my|her))|pinch\w* (?:me|my|her)|"
            r"slapp?\w* (?:my|her) (?:bum|backside|arse)|squeez\w* (?:my|her)|kissed (?:me|her))\b",
            STRONG,
        ),
        (
            r"\b(?:brush\w*|rubb?\w*|press\w*|push\w*|lean\w*|squash\w*) (?:himself |themselves )?"
            r"(?:up )?(?:against|past|into) (?:me|us|her|my)\b",
            STRONG,
        ),
        (
            r"\b(?:hand|hands|arm|arms) (?:\w+ ){0,2}(?:on|round|around|up) (?:my|her) "
            r"(?:leg|thigh|knee|waist|bum|back|shoulder|skirt|chest|breasts?)\b",
            STRONG,
        ),
        (r"\b(?:touch\w*|physical(?:ly)?|contact)\b", WEAK),
    ),
    "indecent_exposure": (
        (
            r"\b(?:expos(?:ed|es|ing) (?:himself|themselves|his)|indecent(?:ly)? expos\w*|flasher|"
            r"flash(?:ed|ing) (?:me|us|her|at|himself|women|girls)|masturbat\w*|wank\w*|"
            r"touching himself|playing with himself|pleasuring himself|trousers down|pants down|"
            r"(?:his|a) (?:penis|genitals|private parts|willy|dick))\b",
            STRONG,
        ),
        (r"\b(?:naked|nude|exposed|flashing)\b", MEDIUM),
    ),
    "taking_pictures": (
        (
            r"\b(?:took|taking|take|takes|snapp\w*|sneak\w*) (?:\w+ ){0,2}(?:photos?|pictures?|pics|"
            r"videos?|footage|selfies?)\b",
            STRONG,
        ),
        (
            r"\b(?:photograph\w*|film(?:ed|ing|s)? (?:me|us|her|women|girls|them|on)|upskirt\w*|"
            r"recording (?:me|us|her|women|girls|on his)|secretly (?:filmed|recorded|photographed))\b",
            STRONG,
        ),
        (
            r"\b(?:point\w*|hold\w*|held|aim\w*) (?:his|a|their) (?:phone|camera) (?:at|towards|up)\b",
            STRONG,
        ),
        (r"\b(?:filming|filmed|camera phone|on his phone|snapchat)\b", MEDIUM),
    ),
    "drink_drugs": (
        (
            r"\b(?:drunk\w*|drunken|intoxicated|pissed up|off (?:their|his) faces?|hammered|"
            r"wasted|tipsy|inebriated|boozed|alcohol\w*|booze)\b",
            STRONG,
        ),
        (
            r"\b(?:spik(?:e|ed|ing)|drugg?\w*|dealers?|dealing|weed|cannabis|skunk|crack|cocaine|"
            r"heroin|nitrous|laughing gas|nos canisters|high on|junkies?|addicts?|needles)\b",
            STRONG,
        ),
        (
            r"\b(?:drink\w*|pubs?|bars?|nightclubs?|clubs?|kicking[- ]out time|chucking[- ]out time|"
            r"stag (?:do|party)|hen (?:do|party)|rowdy|off-licen[cs]e|cans of)\b",
            WEAK,
        ),
    ),
    "transport": (
        (
            r"\b(?:bus(?:es)?|bus stops?|bus station|night bus|coach(?:es)?|trains?|train station|"
            r"railway|rail station|platforms?|the tube|underground|metro|trams?|tram stop|taxis?|"
            r"cabs?|minicabs?|uber|private hire|carriages?|last train|last bus|share auto|auto|"
            r"rickshaw|stations?)\b",
            STRONG,
        ),
        (r"\b(?:drivers?|conductors?|commut\w*|journey|passengers?|ticket)\b", WEAK),
    ),
    "specific_individual": (
        (
            r"\b(?:the )?same (?:man|guy|bloke|person|men|lad|lads|group|people|boys) (?:\w+ ){0,4}"
            r"(?:always|every|again|keeps?|kept|each|most)\b",
            STRONG,
        ),
        (r"\b(?:my|her|an?) ex\b|\bex-?(?:partner|boyfriend|husband|girlfriend)\b", STRONG),
        (r"\b(?:a|my|our|the|his|her) (?:next[- ]door )?neighbou?rs?\b", STRONG),
        (
            r"\b(?:i know (?:him|who he is|his name|who it is)|known to (?:me|us|police|the police)|"
            r"keeps? turning up|always (?:there|hanging around|outside)|hangs? around (?:outside|near|by) "
            r"(?:my|our|the school))\b",
            STRONG,
        ),
        (
            r"\b(?:a|this|one|that) (?:man|guy|bloke|lad) (?:who )?(?:lives|works|always|keeps|every)\b",
            STRONG,
        ),
        (r"\b(?:called|named) \[?[a-z]+\]?\b", MEDIUM),
        (r"\bevery (?:day|night|time|week|morning|evening)\b", WEAK),
    ),
}

# A clause that says the theme's subject is fine cancels that theme's cues in the clause.
_FINE = (
    r"(?:fine|good|ok|okay|alright|all right|great|decent|adequate|not bad|better|improved|"
    r"sorted|fixed|bright|working|brilliant|excellent|plenty|everywhere|well maintained|"
    r"cut back|trimmed|clean|tidy)"
)
REASSURANCE: dict[str, tuple[str, ...]] = {
    "poor_lighting": (
        r"\b(?:well|brightly|nicely|properly|fully|really well) lit\b",
        r"\b(?:street ?)?(?:light(?:ing|s)?|lamps?) (?:\w+ ){0,2}(?:is|are|was|were|seems?|seem|look|"
        r"looks|has been|have been|'s|'re) (?:\w+ )?" + _FINE,
        r"\b(?:good|plenty of|lots of|bright|new) (?:street ?)?(?:light(?:ing|s)?|lamps?)\b",
        r"\bnot (?:that |too |very )?dark\b",
    ),
    "no_cctv": (
        r"\b(?:cctv|cameras?) (?:\w+ ){0,2}(?:is|are|was|were|has been|have been|'s|'re) "
        r"(?:\w+ )?" + _FINE,
        r"\b(?:plenty of|lots of|loads of|good|new|working) (?:cctv|cameras?)\b",
        r"\b(?:covered by|there is|there's|there are) (?:(?!no\b|not\b|any\b|never\b)\w+ )?(?:cctv|cameras?)\b"
        r"(?! (?:\w+ ){0,2}(?:broken|not|never|don't|doesn't|fake))",
    ),
    "isolated": (
        r"\b(?:always|usually|normally|often) (?:busy|people (?:around|about))\b",
        r"\b(?:plenty of|lots of|loads of) people\b",
        r"\b(?:it's|it is|it was|the \w+ is) busy\b",
    ),
    "overgrown": (
        r"\b(?:hedges?|bush(?:es)?|trees?|vegetation|undergrowth) (?:\w+ ){0,3}(?:cut back|trimmed|"
        r"cleared|tidy|tidied|fine)\b",
    ),
    "rundown": (r"\b(?:clean|tidy|well kept|well maintained|nicely done up)\b",),
}

NEGATORS = re.compile(
    r"\b(?:not|never|no|nobody|no one|neither|nor|hardly|without|n't|isn't|wasn't|weren't|aren't|"
    r"don't|didn't|doesn't|haven't|hasn't|hadn't|won't|wouldn't|couldn't|can't|cannot|no longer|"
    r"nothing)\b"
)
_WINDOW_BREAK = re.compile(r"\b(?:because|and|as|so|when|where|which|who|until|then|cos|since)\b")
_CLAUSE_SPLIT = re.compile(
    r"[.;!?\n]+|,?\s\b(?:but|although|though|however|except|whereas|yet|apart from)\b\s"
)
_STEM = re.compile(r"(?:ing|ed|es|s|ly)$")
_TOKEN = re.compile(r"[a-z][a-z']+")


def _prepare(text: str) -> str:
    text = (text or "").lower().replace("’", "'").replace("‘", "'").replace("`", "'")
    return re.sub(r"\s+", " ", text)


def _stem(word: str) -> str:
    word = word.replace("'", "")
    return _STEM.sub("", word) if len(word) > 4 else word


def _analyse(text: str) -> list[str]:
    tokens = [_stem(t) for t in _TOKEN.findall(_prepare(text)) if t not in ENGLISH_STOP_WORDS]
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _negated(clause: str, start: int) -> bool:
    before = clause[:start]
    cut = list(_WINDOW_BREAK.finditer(before))
    if cut:
        before = before[cut[-1].end() :]
    window = " ".join(before.split()[-4:])
    return bool(NEGATORS.search(window))


@dataclass(frozen=True)
class CueMatch:
    theme: str
    phrase: str
    weight: float
    negated: bool


class ZeroShotThemer:
    """Theme confidences for free text from the taxonomy alone; nothing to fit.

    Attributes
    ----------
    themes : tuple of str
        Theme codes, the column order of :meth:`score`.
    version : str
        ``zeroshot-`` and a digest of the taxonomy and lexicon (changes when they do).
    """

    def __init__(self, *, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.themes = tuple(t.code for t in THEMES)
        self._cues = {
            code: [(re.compile(p), w) for p, w in CUES.get(code, ())] for code in self.themes
        }
        self._reassure = {
            code: [re.compile(p) for p in REASSURANCE.get(code, ())] for code in self.themes
        }
        docs = []
        for theme in THEMES:
            cue_words = " ".join(
                re.sub(r"\\b|\(\?:|\(\?<!|\)|\?|\\w\+|\\w\*|\{[0,\d]+\}|[\[\]\\|^$+*-]", " ", p)
                for p, _ in CUES.get(theme.code, ())
            )
            docs.append(" ".join([theme.label, theme.description, *theme.examples, cue_words]))
        self._vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True)
        self._theme_matrix = self._vectorizer.fit_transform(docs)
        digest = hashlib.sha256(repr((CUES, REASSURANCE, [t.__dict__ for t in THEMES])).encode())
        self.version = f"zeroshot-{digest.hexdigest()[:10]}"

    def matches(self, text: str) -> tuple[list[CueMatch], str]:
        """Every cue found (negated or not), and the text with reassured clauses removed."""
        found: list[CueMatch] = []
        kept_clauses = []
        for clause in _CLAUSE_SPLIT.split(_prepare(text)):
            clause = clause.strip()
            if not clause:
                continue
            reassured = {
                c for c, pats in self._reassure.items() if any(p.search(clause) for p in pats)
            }
            if not reassured:
                kept_clauses.append(clause)
            for code, cues in self._cues.items():
                for pattern, weight in cues:
                    for m in pattern.finditer(clause):
                        negated = code in reassured or _negated(clause, m.start())
                        found.append(CueMatch(code, m.group(0), weight, negated))
        return found, ". ".join(kept_clauses)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_themes) confidences in [0, 1]."""
        out = np.zeros((len(texts), len(self.themes)))
        index = {c: i for i, c in enumerate(self.themes)}
        cleaned = []
        for row, text in enumerate(texts):
            found, kept = self.matches(text)
            cleaned.append(kept)
            best: dict[str, list[float]] = {}
            for m in found:
                if not m.negated:
                    best.setdefault(m.theme, []).append(m.weight)
            for code, weights in best.items():
                weights.sort(reverse=True)
                # the strongest cue counts in full, further cues add a little
                out[row, index[code]] = weights[0] + 0.25 * sum(weights[1:3])
        sims = (self._vectorizer.transform(cleaned) @ self._theme_matrix.T).toarray()
        sims = np.where((out > 0) | (sims >= SIM_ALONE), sims, 0.0)
        return 1.0 - np.exp(-(out + SIM_WEIGHT * sims))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_themes) 0/1: themes at or above the threshold."""
        return (self.score(texts) >= self.threshold).astype(np.int8)

    def themes_of(self, text: str) -> list[tuple[str, float]]:
        """The themes found in one text, most confident first."""
        row = self.score([text])[0]
        pairs = [
            (c, float(v)) for c, v in zip(self.themes, row, strict=True) if v >= self.threshold
        ]
        return sorted(pairs, key=lambda p: -p[1])


# --------------------------------------------------------------------------- evaluation


def parse_mapping(spec: str) -> dict[str, tuple[str, ...]]:
    """``"ColA=theme1+theme2,ColB=theme3"`` → {"ColA": ("theme1", "theme2"), ...}."""
    from saferstreets.errors import ValidationFailed

    codes = {t.code for t in THEMES}
    mapping: dict[str, tuple[str, ...]] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        column, _, themes = part.partition("=")
        chosen = tuple(t.strip() for t in themes.split("+") if t.strip())
        bad = [t for t in chosen if t not in codes]
        if not column.strip() or not chosen or bad:
            raise ValidationFailed(
                f"Cannot read the mapping {part.strip()!r}",
                hint="write COLUMN=theme+theme,...; theme codes: " + ", ".join(sorted(codes)),
            )
        mapping[column.strip()] = chosen
    return mapping


def evaluate_mapped(
    path: object,
    *,
    text_column: str,
    label_columns: Sequence[str],
    mapping: dict[str, tuple[str, ...]],
    themer: ZeroShotThemer | None = None,
) -> dict[str, object]:
    """Score zero-shot themes against a labelled CSV whose labels map onto themes.

    A label counts as predicted when any of the themes it maps to is found (for example
    SafeCity's commenting → verbal_harassment or sexual_comments).
    """
    from saferstreets.errors import ValidationFailed
    from saferstreets.themes.classifier import evaluate_predictions, read_labelled_csv

    data = read_labelled_csv(path, text_column=text_column, label_columns=label_columns)  # type: ignore[arg-type]
    if data.kind != "multilabel":
        raise ValidationFailed("Zero-shot evaluation needs 0/1 label columns")
    missing = [c for c in data.labels if c not in mapping]
    if missing:
        raise ValidationFailed(
            f"The mapping says nothing of {', '.join(missing)}",
            hint="map every label column to one or more themes",
        )
    themer = themer or ZeroShotThemer()
    found = themer.predict(data.texts)
    col = {c: i for i, c in enumerate(themer.themes)}
    pred = np.column_stack(
        [found[:, [col[t] for t in mapping[label]]].max(axis=1) for label in data.labels]
    )
    result = evaluate_predictions(data.Y, pred, labels=data.labels)
    result["mapping"] = {k: list(v) for k, v in mapping.items()}
    result["model_version"] = themer.version
    return result

# ruff: noqa: E501 - one labelled text to a line
"""A hand-labelled set of short, realistic British-English texts for measuring theme detection.

Written for this project (not taken from any corpus). Each text carries every theme a careful
reader would tick; an empty set means none of the taxonomy's themes applies.
"""

from __future__ import annotations

LABELLED: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (text, frozenset(themes.split()))
    for text, themes in (
        (
            "The street lights along Mill Lane have been out for weeks and it's pitch black by 5pm.",
            "poor_lighting",
        ),
        ("Path by the canal has no lighting at all, you can't see your own feet.", "poor_lighting"),
        (
            "It's really dark under the railway bridge and there are no cameras.",
            "poor_lighting no_cctv transport",
        ),
        ("Half the lamps in the car park don't work.", "poor_lighting"),
        (
            "The lighting is fine but the underpass has corners where anyone could be waiting.",
            "blind_spots",
        ),
        ("Well lit and busy, I've never had a problem here.", ""),
        ("Nobody would see anything happen here, there isn't a single camera.", "no_cctv"),
        ("The CCTV on the corner has been broken since the summer.", "no_cctv"),
        ("Completely deserted after the shops shut, not a soul about.", "isolated"),
        ("It's so quiet at night you feel like no one would hear you shout.", "isolated"),
        ("The cut-through behind the leisure centre is narrow with no way out.", "blind_spots"),
        ("You can't see round the bend in the footpath until you're right there.", "blind_spots"),
        ("The alleyway by the bins is where lads hang about.", "blind_spots groups_of_men"),
        (
            "Bushes have grown right over the path so it's like a tunnel of hedges.",
            "overgrown blind_spots",
        ),
        (
            "The hedges need cutting back, someone could easily hide in them.",
            "overgrown blind_spots",
        ),
        ("Trees and brambles block the view of the playing field from the road.", "overgrown"),
        ("Boarded-up shops, graffiti and broken glass everywhere on the parade.", "rundown"),
        ("The old pub is derelict and people break in at night.", "rundown"),
        (
            "Fly-tipping and needles in the stairwell of the flats.",
            "rundown drink_drugs blind_spots",
        ),
        (
            "A group of lads on bikes shouted abuse at me and my daughter.",
            "verbal_harassment groups_of_men",
        ),
        (
            "Builders wolf-whistled at me every single morning on my way to school.",
            "verbal_harassment",
        ),
        ("Men outside the bookies make comments about what I'm wearing.", "sexual_comments"),
        (
            "Someone yelled that he'd like to see me without my clothes.",
            "verbal_harassment sexual_comments",
        ),
        ("A man asked me how much I charge while I was waiting for a friend.", "sexual_comments"),
        ("A van slowed down next to me and the driver kept pace as I walked.", "being_followed"),
        (
            "I was followed from the station all the way to my front door.",
            "being_followed transport",
        ),
        ("He walked behind me for ten minutes and crossed over when I did.", "being_followed"),
        ("Someone stalked me through the shopping centre.", "being_followed"),
        ("Two men stood staring at us the whole time we waited.", "staring"),
        ("He kept leering at my friend and looking her up and down.", "staring"),
        ("A man was watching the girls in the changing area of the pool.", "staring"),
        ("A man groped me on the crowded train home.", "touching transport"),
        ("Someone grabbed my bum in the queue at the club.", "touching drink_drugs"),
        (
            "He put his hand on my thigh on the night bus and wouldn't move it.",
            "touching transport",
        ),
        ("A bloke kept brushing against me on the escalator.", "touching"),
        ("A man exposed himself to us by the swings in the park.", "indecent_exposure"),
        ("There's a flasher who hangs around the towpath.", "indecent_exposure"),
        ("He was masturbating in his car in the supermarket car park.", "indecent_exposure"),
        ("A guy was filming women on the beach on his phone.", "taking_pictures"),
        (
            "He held his phone under my skirt on the stairs at the station.",
            "taking_pictures transport",
        ),
        ("Someone took pictures of me without asking while I was jogging.", "taking_pictures"),
        ("Drunk men spill out of the pubs at closing time and it gets rowdy.", "drink_drugs"),
        ("My drink was spiked in a bar on the high street.", "drink_drugs"),
        ("People dealing drugs openly by the war memorial.", "drink_drugs"),
        ("The smell of weed and groups of teenagers with laughing gas canisters.", "drink_drugs"),
        ("Waiting alone at the bus stop at night is terrifying.", "transport isolated"),
        ("The taxi driver locked the doors and asked me personal questions.", "transport"),
        ("The railway station car park feels unsafe late on.", "transport"),
        ("The last train home is always full of drunk people.", "transport drink_drugs"),
        (
            "The same man is always at the end of my road and he knows where I live.",
            "specific_individual",
        ),
        ("My ex keeps turning up outside my work.", "specific_individual"),
        (
            "A neighbour makes remarks to every woman who walks past his house.",
            "specific_individual sexual_comments",
        ),
        (
            "There's a man who lives on the estate who follows schoolgirls.",
            "specific_individual being_followed",
        ),
        ("I love this park in the daytime, it's lovely.", ""),
        ("Please can you put a bin by the bench.", ""),
        ("The pavement is uneven and I tripped.", ""),
        ("Nothing has happened to me here, I just wanted to say the new lights are great.", ""),
        ("No one has ever followed me here but I still feel nervous.", ""),
        ("I was not touched, but a man shouted at me from a car.", "verbal_harassment"),
        (
            "It isn't dark, the problem is the gangs of youths who hang around the shops.",
            "verbal_harassment groups_of_men",
        ),
        ("The subway under the ring road smells and has no lights.", "blind_spots poor_lighting"),
        (
            "The park is empty at night, there are no lights and the bushes are overgrown.",
            "isolated poor_lighting overgrown",
        ),
        (
            "Men hanging round the kebab shop stare and make crude comments.",
            "staring sexual_comments groups_of_men",
        ),
        (
            "Walking back from the station a car full of men beeped and shouted at me.",
            "verbal_harassment transport",
        ),
        (
            "A man on the platform took a photo of me and then followed me onto the train.",
            "taking_pictures being_followed transport",
        ),
        (
            "The underpass is covered in graffiti and the light has been smashed.",
            "blind_spots rundown poor_lighting",
        ),
        (
            "I got harassed by a drunk man outside the station.",
            "verbal_harassment drink_drugs transport",
        ),
        (
            "There is nowhere to go if something happens, the path is hemmed in by fences.",
            "blind_spots",
        ),
        ("Gloomy, no CCTV and nobody about.", "poor_lighting no_cctv isolated"),
        (
            "The bus shelter has been vandalised and the glass is all over the floor.",
            "transport rundown",
        ),
        ("A man in a car pulled up beside me and asked if I wanted a lift.", "being_followed"),
        ("Someone touched my hair on the bus and laughed.", "touching transport"),
        ("Groups of men hang around outside the station every evening.", "groups_of_men transport"),
        ("There's always a gang of lads loitering by the cashpoint.", "groups_of_men"),
    )
)

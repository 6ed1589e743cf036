"""A large synthetic region: N cases with varied journeys, the same for the same seed.

Each case follows one of the scenarios below, drawn with the weights given, so a large region
has a realistic share of healthy journeys and of each rule's situations. Days are counted from
today, as in the curated demo; references are `SYN-0000001` and so on.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from gapwatch.demo import twins
from gapwatch.demo.journeys import (
    C,
    D,
    R,
    S,
    T,
    accept,
    ask,
    born_turning_18,
    close,
    end,
    reject,
    start,
)

AREAS = ["WMERCIA", "WMIDS", "STAFFS", "WARKS"]
PRISONS = ["HMP-HEWELL", "HMP-LONG-LARTIN", "HMP-BIRMINGHAM"]
# Providers each area has a live contract with (see region.CONTRACTS).
PROVIDERS = {"WMERCIA": ["YSS", "CONNECT-NACRO"], "WMIDS": ["CONNECT-NACRO"]}
GIVEN = ["Adam", "Aisha", "Amir", "Ben", "Bethany", "Callum", "Chloe", "Connor", "Daniel", "Dean",
         "Ella", "Ethan", "Gary", "Hannah", "Harvey", "Imran", "Jade", "Jamal", "Jordan", "Kelly",
         "Kieran", "Lauren", "Leon", "Liam", "Marcus", "Megan", "Mohammed", "Nathan", "Paul",
         "Reece", "Ryan", "Sophie", "Stephen", "Tyler", "Usman", "Zoe"]
FAMILY = ["Adams", "Ahmed", "Baker", "Bennett", "Byrne", "Clarke", "Cole", "Davies", "Doyle",
          "Evans", "Foster", "Green", "Hall", "Hart", "Hughes", "Iqbal", "Jones", "Khan", "Lewis",
          "Lloyd", "Mason", "Morgan", "Patel", "Price", "Rahman", "Reid", "Scott", "Shaw",
          "Singh", "Taylor", "Turner", "Walsh", "Ward", "Whitehouse", "Williams", "Wright"]
RISKS = ["low", "medium", "medium", "medium", "high", "high", "very_high"]


def officer(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN)[0]}. {rng.choice(FAMILY)}"


# -- healthy scenarios: each returns (steps, release day, days to 18th birthday) ------------
def supervised(rng, home):
    begun = -rng.randint(10, 700)
    steps = [start(begun, home, S, officer(rng))]
    if home in PROVIDERS and rng.random() < 0.3:
        provider, asked = rng.choice(PROVIDERS[home]), rng.randint(begun, -1)
        steps += [ask(asked, home, provider, D, R),
                  accept(min(asked + rng.randint(0, 3), 0), provider, officer(rng))]
    return steps, None, None


def in_custody(rng, home):
    return [start(-rng.randint(30, 900), rng.choice(PRISONS), C, officer(rng))], \
        rng.randint(40, 700), None


def released(rng, home):
    begun, release = -rng.randint(100, 900), -rng.randint(1, 90)
    asked = rng.randint(max(begun, release - 60), release)
    prison = rng.choice(PRISONS)
    return [start(begun, prison, C, officer(rng)), ask(asked, prison, home, S, T, due=release),
            accept(min(asked + rng.randint(1, 10), 0), home, officer(rng))], release, None


def planned_release(rng, home):
    prison, release = rng.choice(PRISONS), rng.randint(1, 28)
    return [start(-rng.randint(60, 900), prison, C, officer(rng)),
            ask(-rng.randint(1, 20), prison, home, S, T, due=release)], release, None


def youth(rng, home):
    birthday = rng.randint(-300, 400)
    begun = min(birthday, 0) - rng.randint(100, 500)
    steps = [start(begun, "YOS-WORCS", S, officer(rng))]
    if birthday <= 90:
        asked = min(birthday, 0) - rng.randint(5, 30)
        steps += [ask(asked, "YOS-WORCS", home, S, T, due=birthday),
                  accept(asked + rng.randint(1, 4), home, officer(rng))]
    return steps, None, birthday


def closed(rng, home):
    begun = -rng.randint(200, 900)
    return [start(begun, home, S, officer(rng)), close(-rng.randint(1, 150), "order completed")], \
        None, None


# -- situations the rules are there to find -------------------------------------------------
def no_owner(rng, home):
    release = -rng.randint(1, 60)
    prison = rng.choice(PRISONS)
    return [start(release - rng.randint(30, 400), prison, C, officer(rng)),
            end(release, prison, "released")], release, None


def overdue(rng, home):
    other = rng.choice([a for a in AREAS if a != home])
    asked = -rng.randint(5, 40)
    return [start(asked - rng.randint(30, 400), other, S, officer(rng)),
            ask(asked, other, home, S, T, due=rng.randint(asked, -1))], None, None


def unplanned_release(rng, home):
    return [start(-rng.randint(60, 900), rng.choice(PRISONS), C, officer(rng))], \
        rng.randint(0, 28), None


def age_gap(rng, home):
    birthday = rng.randint(-120, 90)
    return [start(min(birthday, 0) - rng.randint(100, 500), "YOS-WORCS", S, officer(rng))], \
        None, birthday


def lapsed(rng, home):
    begun = -rng.randint(60, 600)
    asked = rng.randint(begun, -25)
    return [start(begun, "WMERCIA", S, officer(rng)), ask(asked, "WMERCIA", "CONNECT-SOVA", D, R),
            accept(asked + 1, "CONNECT-SOVA", officer(rng))], None, None


def ending(rng, home):
    begun = -rng.randint(30, 300)
    asked = rng.randint(begun, -2)
    return [start(begun, "STAFFS", S, officer(rng)), ask(asked, "STAFFS", "CONNECT-NACRO", D, R),
            accept(asked + 1, "CONNECT-NACRO", officer(rng))], None, None


def unallocated(rng, home):
    return [start(-rng.randint(5, 60), home, S)], None, None


def ping_pong(rng, home):
    other = rng.choice([a for a in AREAS if a != home])
    steps = [start(-rng.randint(100, 600), home, S, officer(rng))]
    for asked in sorted(rng.sample(range(-85, -3, 5), 3)):
        steps += [ask(asked, home, other, S, T), reject(asked + 2, other, "not our area")]
    return steps, None, None


def dual(rng, home):
    other = rng.choice([a for a in AREAS if a != home])
    begun = -rng.randint(7, 100)
    return [start(begun - rng.randint(30, 300), home, S, officer(rng)),
            start(begun, other, S, officer(rng))], None, None


SCENARIOS = [
    (38, supervised), (18, in_custody), (14, released), (4, planned_release), (6, youth),
    (8, closed), (2, no_owner), (2.5, overdue), (1.5, unplanned_release), (1, age_gap),
    (0.5, lapsed), (3, unallocated), (0.5, ping_pong), (1, dual), (0.5, ending),
]


def case_records(today: date, rng: random.Random, number: int) -> list[dict]:
    """Return one synthetic case as import records: person, case, events."""
    scenario = rng.choices([s for _w, s in SCENARIOS], weights=[w for w, _s in SCENARIOS])[0]
    home = rng.choice(AREAS)
    steps, release, birthday = scenario(rng, home)
    if birthday is not None:
        born = born_turning_18(today + timedelta(days=birthday))
    else:
        born = today - timedelta(days=rng.randint(18 * 365 + 5, 65 * 365))
    reference = f"SYN-{number:07d}"

    def iso(offset):
        return (today + timedelta(days=offset)).isoformat()

    records = [
        {"type": "person", "reference": f"SYN-P-{number:07d}", "given_name": rng.choice(GIVEN),
         "family_name": rng.choice(FAMILY), "date_of_birth": born.isoformat(),
         "home_area": home, "restricted": rng.random() < 0.02},
        {"type": "case", "reference": reference, "person": f"SYN-P-{number:07d}",
         "opened_on": iso(min(day for day, _n, _v in steps)), "risk_level": rng.choice(RISKS),
         "expected_release_on": iso(release) if release is not None else None},
    ]
    for day, name, values in steps:
        event = {"type": "event", "case": reference, "on": iso(day), "event": name}
        for key, value in values.items():
            if value is not None:
                event[key] = iso(value) if key.endswith("_on") else value
        records.append(event)
    return records


TWIN_SHARE = 0.05
SOURCE = {"custody": "prison", "supervision": "probation", "delivery": "provider"}


def _source(records: list[dict]) -> str:
    """Return the kind of agency whose record this is: the case's first owner's."""
    roles = [r.get("role") for r in records if r.get("event") == "ownership_started"]
    return SOURCE.get(roles[0] if roles else "supervision", "probation")


def synthetic_cases(today: date, cases: int, seed: int,
                    twin_share: float = TWIN_SHARE) -> Iterator[list[dict]]:
    """Yield the records of each of `cases` synthetic cases, the same for the same seed.

    A `twin_share` of the cases belong to a second record of an earlier case's person, typed
    with realistic noise (`twins.twin_of`); who is whose follows from the seed alone
    (`twin_pairs`), never from the database. The twins draw from a random stream of their
    own, so the journeys are the same with or without them.
    """
    for records, _original in _twinned(today, cases, seed, twin_share):
        yield records


def twin_pairs(today: date, cases: int, seed: int,
               twin_share: float = TWIN_SHARE) -> set[tuple[str, str]]:
    """Return every pair of person references that are one person in `synthetic_cases`."""
    pairs = {(original, records[0]["reference"])
             for records, original in _twinned(today, cases, seed, twin_share) if original}
    return twins.closed(pairs)


TWIN_WINDOW = 1000  # a twin is of one of the last thousand persons


def _twinned(today: date, cases: int, seed: int, twin_share: float):
    rng, noise = random.Random(seed), random.Random(f"twins:{seed}")
    recent: list[twins.Someone] = []
    for number in range(1, cases + 1):
        records = case_records(today, rng, number)
        person, source = records[0], _source(records)
        born = date.fromisoformat(person["date_of_birth"])
        chosen = twins.Someone(person["reference"], person["given_name"], person["family_name"],
                               born, person["home_area"],
                               twins.identifiers(noise, number, born, source))
        original = None
        youth = any(r.get("agency") == "YOS-WORCS" for r in records)
        if recent and not youth and noise.random() < twin_share:
            first = recent[noise.randrange(max(0, len(recent) - TWIN_WINDOW), len(recent))]
            chosen, original = twins.twin_of(noise, first, number, person["reference"],
                                             source), first.reference
        records[0] = chosen.record(person["restricted"])
        recent.append(chosen)
        if len(recent) >= 2 * TWIN_WINDOW:  # only the last TWIN_WINDOW are ever drawn from
            del recent[:-TWIN_WINDOW]
        yield records, original

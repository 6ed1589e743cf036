"""Persons recorded twice: the synthetic region's share of twin records, with realistic noise.

A prison, a probation area and a provider each type a person's details into their own system,
so one person often has two records: the same person with a name misspelt, given and family
names swapped, a hyphenated surname written in part, day and month of birth transposed, a digit
mistyped, another home area, and each agency's own identifiers. `twin_of` makes such a copy.

The answers (which twin is whose) are never written to the database: they follow from the seed
(`true_pairs`), so `bench/link_bench.py` and the tests can measure the linkage against them.
Names are drawn with a long-tailed frequency, as real names are: a few common, most rare.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, replace
from datetime import date, timedelta

GIVEN = ["Oliver", "Jack", "Harry", "George", "Noah", "Charlie", "Jacob", "Alfie", "Freddie", "Oscar", "Leo", "Logan", "Archie", "Theo", "Thomas", "James", "Joshua", "Henry", "William", "Max", "Lucas", "Ethan", "Arthur", "Mason", "Isaac", "Harrison", "Teddy", "Finley", "Daniel", "Riley", "Edward", "Joseph", "Alexander", "Adam", "Reggie", "Samuel", "Jaxon", "Sebastian", "Elijah", "Harley", "Toby", "Arlo", "Dylan", "Jude", "Benjamin", "Rory", "Tommy", "Jake", "Louie", "Carter", "Jenson", "Hugo", "Bobby", "Frankie", "Ollie", "Zachary", "David", "Albie", "Lewis", "Luca", "Ronnie", "Jackson", "Matthew", "Alex", "Harvey", "Reuben", "Jayden", "Caleb", "Hunter", "Theodore", "Nathan", "Blake", "Luke", "Elliot", "Roman", "Stanley", "Dexter", "Michael", "Elliott", "Tyler", "Ryan", "Ellis", "Finn", "Albert", "Kai", "Liam", "Callum", "Louis", "Aaron", "Ezra", "Leon", "Connor", "Grayson", "Jamie", "Aiden", "Gabriel", "Mohammed", "Muhammad", "Amir", "Imran", "Usman", "Bilal", "Hamza", "Yusuf", "Ibrahim", "Ali", "Omar", "Kieran", "Dean", "Gary", "Wayne", "Darren", "Lee", "Craig", "Jason", "Mark", "Paul", "Stephen", "Kevin", "Anthony", "Christopher", "Andrew", "Richard", "Robert", "John", "Peter", "Neil", "Martin", "Simon", "Olivia", "Amelia", "Isla", "Ava", "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily", "Sophia", "Grace", "Evie", "Scarlett", "Ruby", "Chloe", "Sophie", "Florence", "Freya", "Daisy", "Phoebe", "Alice", "Sienna", "Ivy", "Matilda", "Evelyn", "Harper", "Millie", "Rosie", "Jessica", "Layla", "Elsie", "Willow", "Charlotte", "Lucy", "Hannah", "Megan", "Lauren", "Jade", "Kelly", "Stacey", "Leanne", "Gemma", "Kirsty", "Aisha", "Fatima", "Zara", "Amira", "Maryam", "Hollie", "Bethany", "Courtney", "Chantelle", "Shannon", "Demi", "Paige", "Abigail", "Eleanor", "Zoe", "Holly", "Katie", "Amy", "Rebecca", "Emma", "Sarah", "Laura", "Rachel", "Nicola", "Natalie", "Donna", "Michelle", "Tracey", "Joanne", "Lisa", "Claire", "Kerry", "Samantha", "Victoria", "Danielle", "Jordan", "Reece", "Marcus", "Jamal", "Tyrone", "Shane", "Kyle", "Declan", "Brandon", "Corey", "Jordan", "Levi", "Tristan", "Cameron", "Ashley", "Bradley", "Jack"]

FAMILY = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson", "Ball", "Burton", "OBrien", "Watts", "Rose", "Booth", "Perry", "Ryan", "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson", "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh", "Riley", "Dennis", "Simmons", "Hamilton", "Chambers", "Holland", "Johnston", "Dean", "Sharp", "Burns", "Rahman", "Iqbal", "Mahmood", "Akhtar", "Hussein", "Malik", "Sharma", "Chauhan", "Mistry", "Gordon", "Byrne", "Doyle", "Quinn", "Whitehouse", "Bissell", "Tromans", "Hadley", "Bayliss", "Cartwright", "Bourne", "Hingley", "Nock", "Pritchard", "Tolley", "Bowen", "Sidhu", "Bains", "Sandhu", "Dhillon", "Gayle", "Campbell", "Francis", "Brathwaite", "Forde", "Clements", "Marriott", "Sargent", "Yates", "Holt", "Tucker", "Kemp", "Bates", "Dale", "Moss", "Pugh", "Vaughan", "Oakley", "Stokes", "Buckley", "Talbot", "Jarvis", "Lamb", "Mann", "Sutton", "Whitfield", "Cotterill", "Bickley", "Wootton", "Mansell", "Fellows", "Onions", "Woodhall", "Haywood", "Cadwallader", "Nicholls", "Jeffries", "Rowley", "Timmins", "Lowbridge", "Hickman", "Plant", "Shelley", "Bird", "Cope", "Fenton", "Horton"]

# Zipf-like weights: the n-th name is drawn with weight 1 / (n + 10).
_GIVEN_WEIGHTS = [1 / (n + 10) for n in range(len(GIVEN))]
_FAMILY_WEIGHTS = [1 / (n + 10) for n in range(len(FAMILY))]
AREAS = ["WMERCIA", "WMIDS", "STAFFS", "WARKS"]
SCHEMES_BY_SOURCE = {"prison": ("noms", "pnc"), "probation": ("crn", "pnc"), "provider": ()}


@dataclass(frozen=True)
class Someone:
    """One person record as an agency typed it."""

    reference: str
    given_name: str
    family_name: str
    date_of_birth: date
    home_area: str
    identifiers: dict

    def record(self, restricted: bool = False) -> dict:
        return {"type": "person", "reference": self.reference, "given_name": self.given_name,
                "family_name": self.family_name, "date_of_birth": self.date_of_birth.isoformat(),
                "home_area": self.home_area, "restricted": restricted,
                "identifiers": dict(self.identifiers)}


def given_name(rng: random.Random) -> str:
    return rng.choices(GIVEN, _GIVEN_WEIGHTS)[0]


def family_name(rng: random.Random) -> str:
    name = rng.choices(FAMILY, _FAMILY_WEIGHTS)[0]
    if rng.random() < 0.04:
        name = f"{name}-{rng.choices(FAMILY, _FAMILY_WEIGHTS)[0]}"
    return name


def pnc(rng: random.Random, born: date, number: int) -> str:
    """Return a valid PNC id, unique for `number` (below ten million)."""
    from gapwatch.identity import pnc_check_letter

    year = str(min(born.year + 18 + rng.randint(0, 20), 2026))
    serial = f"{number * 7919 % 10**7:07d}"  # 7919 is prime to 10**7: one serial per number
    return f"{year}/{serial}{pnc_check_letter(year, serial)}"


def identifiers(rng: random.Random, number: int, born: date, source: str) -> dict:
    """Return the identifiers an agency of kind `source` records, unique for `number`."""
    letters = string.ascii_uppercase
    found = {}
    for scheme in SCHEMES_BY_SOURCE[source]:
        if scheme == "noms" and rng.random() < 0.95:
            found["noms"] = (f"{letters[number % 26]}{number // 26 % 10000:04d}"
                             f"{letters[number // 260000 % 26]}{letters[number * 7 % 26]}")
        elif scheme == "crn" and rng.random() < 0.95:
            found["crn"] = f"{letters[number % 26]}{number // 26 % 1000000:06d}"
        elif scheme == "pnc" and rng.random() < 0.5:
            found["pnc"] = pnc(rng, born, number)
    return found


def someone(rng: random.Random, number: int, reference: str, born: date, home: str,
            source: str) -> Someone:
    return Someone(reference, given_name(rng), family_name(rng), born, home,
                   identifiers(rng, number, born, source))


# -- the noise of a second record -------------------------------------------------------------
def typo(rng: random.Random, word: str) -> str:
    """Return `word` with one letter dropped, doubled, swapped with the next, or replaced."""
    if len(word) < 3:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:at] + word[at + 1:]
    if kind == 1:
        return word[:at] + word[at] + word[at:]
    if kind == 2:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return word[:at] + rng.choice(string.ascii_lowercase) + word[at + 1:]


def _transposed(born: date) -> date:
    try:
        return born.replace(month=born.day, day=born.month)
    except ValueError:
        return born + timedelta(days=1)


def _mistyped(born: date, rng: random.Random) -> date:
    for _attempt in range(5):
        text = born.isoformat()
        at = rng.choice([2, 3, 6, 8, 9])
        changed = text[:at] + str(rng.randrange(10)) + text[at + 1:]
        try:
            return date.fromisoformat(changed)
        except ValueError:
            continue
    return born


def twin_of(rng: random.Random, original: Someone, number: int, reference: str,
            source: str) -> Someone:
    """Return a second record of `original` as another agency (`source`) might have typed it."""
    given, family, born, home = (original.given_name, original.family_name,
                                 original.date_of_birth, original.home_area)
    if rng.random() < 0.25:
        given = typo(rng, given)
    if rng.random() < 0.2:
        family = typo(rng, family)
    if "-" in family and rng.random() < 0.6:
        family = rng.choice(family.split("-"))  # a hyphenated surname written in part
    elif rng.random() < 0.05:
        family = f"{family}-{rng.choices(FAMILY, _FAMILY_WEIGHTS)[0]}"
    if rng.random() < 0.05:
        given, family = family, given
    if born.day <= 12 and born.day != born.month and rng.random() < 0.1:
        born = _transposed(born)
    elif rng.random() < 0.05:
        born = _mistyped(born, rng)
    if rng.random() < 0.2:
        home = rng.choice([a for a in AREAS if a != home])
    own = identifiers(rng, number, born, source)
    if "pnc" in original.identifiers and rng.random() < 0.3:
        own["pnc"] = original.identifiers["pnc"]  # the same PNC id: linked on import
    else:
        own.pop("pnc", None)
    return replace(original, reference=reference, given_name=given, family_name=family,
                   date_of_birth=born, home_area=home, identifiers=own)


# -- a population, for the benchmark and the tests ---------------------------------------------
def population(persons: int, seed: int, twin_share: float = 0.1
               ) -> tuple[list[Someone], set[tuple[str, str]]]:
    """Return `persons` person records, `twin_share` of them twins, and the true twin pairs."""
    rng = random.Random(seed)
    records: list[Someone] = []
    pairs: set[tuple[str, str]] = set()
    today = date(2026, 12, 1)
    for number in range(1, persons + 1):
        reference = f"SYN-P-{number:07d}"
        source = rng.choice(["prison", "probation", "provider"])
        if records and rng.random() < twin_share:
            original = records[rng.randrange(max(0, len(records) - 1000), len(records))]
            records.append(twin_of(rng, original, number, reference, source))
            pairs.add((original.reference, reference))
            continue
        born = today - timedelta(days=rng.randint(18 * 365 + 5, 65 * 365))
        records.append(someone(rng, number, reference, born, rng.choice(AREAS), source))
    return records, closed(pairs)


def closed(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Return every pair of records of one person (a twin of a twin is a twin of both)."""
    import networkx as nx

    graph = nx.Graph(list(pairs))
    found = set()
    for group in nx.connected_components(graph):
        members = sorted(group)
        found.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    return found

"""Probabilistic record linkage of person records with Splink, on an embedded DuckDB.

Splink's model (Fellegi-Sunter) compares each candidate pair field by field and adds up the
evidence: each comparison level has a match weight, log2 of how much likelier that agreement
is between two records of one person (m) than between two records of different persons (u).
The u probabilities come from random pairs, the m probabilities from expectation maximisation
over the pairs blocking finds, and names and home areas are weighted by how common each value is
(term frequencies): two records both "Callum Cadwallader" say more than two "Jack Smith".

The comparisons: names (typos, given and family swapped, a hyphenated surname written in part),
the date of birth (a digit mistyped, day and month transposed), the PNC id, the prison number,
the probation case reference, and the home area. Candidate pairs come only from the blocking
rules (same birth date; same names and birth year; same family name and birth month; a shared
identifier), so the work grows with the records, not with their square.

Plain Python and Splink: no Flask, no gapwatch database. `gapwatch.linking` reads the persons,
runs `link` and records what it finds.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI

log = logging.getLogger(__name__)

COLUMNS = ("unique_id", "given_name", "family_name", "date_of_birth", "home_area", "pnc",
           "noms", "crn")
THRESHOLD = 0.2
# Random pairs for the u probabilities; records sampled for EM.
U_PAIRS = 2e6
EM_RECORDS = 50_000
# Above this many persons the model is trained on a sample of this many (prior, u, m), then
# scores every candidate pair of all of them: training time stops growing with the data.
TRAIN_RECORDS = 100_000
# Known pairs needed before their m probabilities replace EM's.
MIN_LABELS = 100
# The model scored with when there are too few persons to train on (`gapwatch.linking`).
SHIPPED = Path(__file__).with_name("linkage_model.json")
# One pair in this many is a twin, before training: a starting value EM refines.
PRIOR = 1e-5

SAME_NAME_SURNAME_PART = (
    "(jaro_winkler_similarity(given_name_l, given_name_r) >= 0.88 OR "
    "damerau_levenshtein(given_name_l, given_name_r) <= 1) AND "
    "len(list_intersect(string_split(family_name_l, '-'), string_split(family_name_r, '-'))) > 0"
)
NAMES_SWAPPED_ALIKE = (
    "jaro_winkler_similarity(given_name_l, family_name_r) >= 0.88 AND "
    "jaro_winkler_similarity(family_name_l, given_name_r) >= 0.88"
)
DAY_AND_MONTH_TRANSPOSED = (
    "substr(date_of_birth_l, 1, 4) = substr(date_of_birth_r, 1, 4) AND "
    "substr(date_of_birth_l, 6, 2) = substr(date_of_birth_r, 9, 2) AND "
    "substr(date_of_birth_l, 9, 2) = substr(date_of_birth_r, 6, 2)"
)


def _names() -> cl.CustomComparison:
    given, family = "given_name", "family_name"
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="given and family name",
        comparison_levels=[
            cll.And(cll.NullLevel(given), cll.NullLevel(family)),
            cll.ExactMatchLevel("full_name", term_frequency_adjustments=True).configure(
                label_for_charts="the same names"),
            cll.ColumnsReversedLevel(given, family, symmetrical=True).configure(
                label_for_charts="given and family name swapped"),
            cll.CustomLevel(NAMES_SWAPPED_ALIKE).configure(
                label_for_charts="given and family name swapped, with a typo"),
            cll.And(cll.JaroWinklerLevel(given, 0.92), cll.JaroWinklerLevel(family, 0.92))
            .configure(label_for_charts="both names alike (a typo)"),
            cll.And(cll.DamerauLevenshteinLevel(given, 1), cll.DamerauLevenshteinLevel(family, 1))
            .configure(label_for_charts="both names within one typo (short names)"),
            cll.CustomLevel(SAME_NAME_SURNAME_PART).configure(
                label_for_charts="given name alike, surname shares a part (hyphenated)"),
            cll.And(cll.JaroWinklerLevel(given, 0.8), cll.JaroWinklerLevel(family, 0.8))
            .configure(label_for_charts="both names somewhat alike"),
            cll.ExactMatchLevel(family, term_frequency_adjustments=True).configure(
                label_for_charts="the same family name only"),
            cll.ExactMatchLevel(given, term_frequency_adjustments=True).configure(
                label_for_charts="the same given name only"),
            cll.ElseLevel().configure(label_for_charts="different names"),
        ],
    )


def _date_of_birth() -> cl.CustomComparison:
    born = "date_of_birth"
    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="date of birth",
        comparison_levels=[
            cll.NullLevel(born),
            cll.ExactMatchLevel(born).configure(label_for_charts="the same date of birth"),
            cll.CustomLevel(DAY_AND_MONTH_TRANSPOSED).configure(
                label_for_charts="day and month transposed"),
            cll.DamerauLevenshteinLevel(born, 1).configure(
                label_for_charts="one digit different"),
            cll.AbsoluteDateDifferenceLevel(born, input_is_string=True, threshold=1,
                                            metric="year")
            .configure(label_for_charts="within a year"),
            cll.ElseLevel().configure(label_for_charts="different dates of birth"),
        ],
    )


def _identifier(column: str, what: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=what,
        comparison_levels=[
            cll.NullLevel(column),
            # Never seen in training: two persons never share an identifier in gapwatch (a
            # record naming one already held is linked on import), so m and u are given.
            cll.ExactMatchLevel(column).configure(
                label_for_charts=f"the same {what}", m_probability=0.95, u_probability=1e-7,
                fix_m_probability=True, fix_u_probability=True),
            cll.ElseLevel().configure(label_for_charts=f"different {what}s"),
        ],
    )


def settings() -> SettingsCreator:
    """Return the model's settings: its comparisons and the blocking rules of its candidates."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=PRIOR,
        comparisons=[
            _names(),
            _date_of_birth(),
            _identifier("pnc", "PNC id"),
            _identifier("noms", "prison number"),
            _identifier("crn", "case reference number"),
            cl.CustomComparison(
                output_column_name="home_area",
                comparison_description="home area",
                comparison_levels=[
                    cll.NullLevel("home_area"),
                    cll.ExactMatchLevel("home_area", term_frequency_adjustments=True)
                    .configure(label_for_charts="the same home area"),
                    cll.ElseLevel().configure(label_for_charts="different home areas"),
                ],
            ),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("date_of_birth"),
            block_on("given_name", "family_name", "substr(date_of_birth, 1, 4)"),
            block_on("family_name", "substr(date_of_birth, 1, 7)"),
            block_on("given_name", "family_name", "substr(date_of_birth, 6, 5)"),
            # The birth year and the day and month in either order: a transposed date.
            block_on("substr(date_of_birth, 1, 4)",
                     "least(substr(date_of_birth, 6, 2), substr(date_of_birth, 9, 2))",
                     "greatest(substr(date_of_birth, 6, 2), substr(date_of_birth, 9, 2))"),
            # The given name and home area, and the date with its day or its year left out: a
            # surname changed or written in part, and a digit of the date mistyped. (With the
            # year alone, this rule gave 18.2 of the 38.8 million candidate pairs of the
            # 500,000-case demo; of bench/link_bench.py's 54,110 twins at 500,000 persons, it
            # alone paired 11.)
            block_on("given_name", "substr(date_of_birth, 1, 7)", "home_area"),
            block_on("given_name", "substr(date_of_birth, 6, 5)", "home_area"),
            # One digit of the date mistyped and a typo in a name: the rest of the date and
            # both initials (a typo rarely hits a first letter).
            block_on("substr(date_of_birth, 6, 5)", "substr(given_name, 1, 1)",
                     "substr(family_name, 1, 1)"),
            block_on("substr(date_of_birth, 1, 4)", "substr(date_of_birth, 9, 2)",
                     "substr(given_name, 1, 1)", "substr(family_name, 1, 1)"),
            block_on("substr(date_of_birth, 1, 7)", "substr(given_name, 1, 1)",
                     "substr(family_name, 1, 1)"),
            block_on("pnc"),
            block_on("noms"),
            block_on("crn"),
        ],
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["full_name"],
    )


@dataclass(frozen=True)
class Reason:
    """One comparison's verdict on a pair: its level and the match weight it adds."""

    comparison: str
    level: str
    weight: float

    def as_json(self) -> dict:
        return {"comparison": self.comparison, "level": self.level,
                "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class Scored:
    """A candidate pair the model scored, with the reasons for its score."""

    left: int
    right: int
    probability: float
    match_weight: float
    reasons: tuple[Reason, ...] = ()


@dataclass
class Linkage:
    """What one run found: the trained model (Splink's JSON) and the pairs above the threshold."""

    model: dict
    pairs: list[Scored] = field(default_factory=list)
    persons: int = 0
    trained_on: int = 0
    seconds: dict = field(default_factory=dict)


def _table(rows: list[dict]) -> pa.Table:
    columns = {name: [row.get(name) for row in rows] for name in COLUMNS}
    columns["unique_id"] = [int(v) for v in columns["unique_id"]]
    columns["full_name"] = [f"{g} {f}" if g and f else None
                            for g, f in zip(columns["given_name"], columns["family_name"],
                                            strict=True)]
    return pa.table(columns)


def _levels(model: dict) -> dict[str, dict[int, str]]:
    """Return each comparison's level labels by their gamma value."""
    found = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        count = len(levels)
        found[comparison["output_column_name"]] = {
            count - 1 - i: lv.get("label_for_charts") or lv["sql_condition"]
            for i, lv in enumerate(levels)
        }
        found[comparison["output_column_name"]][-1] = "missing on one side"
    return found


def _reasons(row: dict, levels: dict[str, dict[int, str]]) -> tuple[Reason, ...]:
    reasons = []
    for name, labels in levels.items():
        gamma = row.get(f"gamma_{name}")
        weight = row.get(f"mw_{name}")
        if gamma is None or weight is None:
            continue
        total = weight + (row.get(f"mw_tf_adj_{name}") or 0.0)
        reasons.append(Reason(name, labels.get(gamma, str(gamma)), total))
    return tuple(reasons)


def shipped() -> Trained:
    """Return the model shipped with gapwatch, trained on a synthetic region (bench/link_bench.py)."""
    kept = json.loads(SHIPPED.read_text())
    return Trained(kept["model"], kept["persons"])


@dataclass(frozen=True)
class Trained:
    """A model trained earlier, and on how many persons (to rescale its prior)."""

    model: dict
    persons: int

    def for_persons(self, persons: int) -> dict:
        """Return the model for a population of `persons`.

        Twin pairs grow with the records and all pairs with their square, so the chance that
        two random records are one person shrinks as 1/n: the trained prior is scaled to `persons`.
        """
        prior = self.model["probability_two_random_records_match"]
        scaled = min(0.5, prior * self.persons / max(persons, 2))
        return {**self.model, "probability_two_random_records_match": scaled}


def link(rows: list[dict], *, threshold: float = THRESHOLD, seed: int = 1,
         trained: Trained | None = None, labels: list[tuple[int, int]] = (),
         connection: duckdb.DuckDBPyConnection | None = None) -> Linkage:
    """Score these person rows' candidate pairs and return those above `threshold`.

    Without `trained`, train a model on the rows themselves (deterministic for a seed); with
    it, score with that model. `labels` are pairs of row ids known to be one person (linked
    by an identifier or confirmed by people); with `MIN_LABELS` of them or more, the m
    probabilities are taken from them after EM. Each row has the `COLUMNS`, dates as
    YYYY-MM-DD text.
    """
    timings = {}
    started = time.perf_counter()
    trained_on = trained.persons if trained is not None else None
    if trained is None and len(rows) > TRAIN_RECORDS:
        trained = _train_on_sample(rows, labels, seed)
        trained_on = TRAIN_RECORDS
        timings["training"] = time.perf_counter() - started
    db_api = DuckDBAPI(connection or duckdb.connect())
    persons = db_api.register(_table(rows), dataset_display_name="persons")
    if trained is not None:
        linker = Linker(persons, trained.for_persons(len(rows)), log_level=logging.WARNING)
        return _predict(linker, threshold, len(rows), timings, trained_on)
    linker = _trained(db_api, persons, len(rows), labels, seed)
    timings["training"] = time.perf_counter() - started
    return _predict(linker, threshold, len(rows), timings, len(rows))


def _trained(db_api: DuckDBAPI, persons, count: int, labels, seed: int) -> Linker:
    """Return a linker of these persons with a model trained on them."""
    linker = Linker(persons, settings(), log_level=logging.WARNING)
    _train(linker, count, seed)
    if len(labels) >= MIN_LABELS:
        _learn_from_labels(db_api, linker, labels)
    return linker


def _learn_from_labels(db_api: DuckDBAPI, linker: Linker, labels) -> None:
    """Take the m probabilities from pairs known to be one person.

    EM blocked on the names cannot tell a twin whose birth date was mistyped from a namesake
    (only the home area is left to compare): known pairs can.
    """
    known = db_api.register(pa.table({
        "source_dataset_l": ["persons"] * len(labels),
        "unique_id_l": [int(a) for a, _b in labels],
        "source_dataset_r": ["persons"] * len(labels),
        "unique_id_r": [int(b) for _a, b in labels],
    }), dataset_display_name="labels")
    linker.training.estimate_m_from_pairwise_labels(known)


def _train_on_sample(rows: list[dict], labels, seed: int) -> Trained:
    """Train on `TRAIN_RECORDS` of the rows drawn at random (for a seed), with the known pairs
    inside the sample.

    A pair of records is in a sample of a fraction f of the records with chance f squared, and
    the sample has f squared of all the pairs too: the share of pairs that are one person, the
    prior, is the same in the sample as in all the rows, so it is kept as it is (`Trained` for
    all the rows), unlike a model trained on another population."""
    import random

    sample = random.Random(seed).sample(rows, TRAIN_RECORDS)
    db_api = DuckDBAPI(duckdb.connect())
    persons = db_api.register(_table(sample), dataset_display_name="persons")
    model = _trained(db_api, persons, len(sample), (), seed).misc.save_model_to_json()
    if len(labels) >= MIN_LABELS:
        # Few known pairs fall inside a sample (a pair is in it with chance f squared): their m
        # probabilities are taken from all of them, on the labelled records alone.
        ids = {i for pair in labels for i in pair}
        db_api = DuckDBAPI(duckdb.connect())
        labelled = db_api.register(_table([r for r in rows if r["unique_id"] in ids]),
                                   dataset_display_name="persons")
        linker = Linker(labelled, model, log_level=logging.WARNING)
        _learn_from_labels(db_api, linker, labels)
        model = linker.misc.save_model_to_json()
    return Trained(model, len(rows))


def _train(linker: Linker, persons: int, seed: int) -> None:
    """Estimate the prior, u from random pairs, then m by EM in two blocked sessions."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("date_of_birth", "given_name", "family_name"), block_on("pnc"),
         block_on("noms"), block_on("crn")],
        recall=0.7,
    )
    training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=seed, num_chunks=1)
    # EM on a sample of the records: enough pairs to learn from, whatever the population.
    proportion = min(1.0, max(0.01, EM_RECORDS / max(persons, 1)))
    # Blocked on the date of birth, EM learns the names' levels; on the names, the date's.
    training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), record_sample_proportion=proportion)
    training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "family_name"), record_sample_proportion=proportion)


def _predict(linker: Linker, threshold: float, persons: int, timings: dict,
             trained_on: int) -> Linkage:
    started = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    model = linker.misc.save_model_to_json()
    levels = _levels(model)
    pairs = [
        Scored(int(r["unique_id_l"]), int(r["unique_id_r"]), float(r["match_probability"]),
               float(r["match_weight"]), _reasons(r, levels))
        for r in predictions.as_record_list()
    ]
    timings["prediction"] = time.perf_counter() - started
    return Linkage(model=model, pairs=pairs, persons=persons, trained_on=trained_on,
                   seconds=timings)


SPLINK_VERSION = splink.__version__

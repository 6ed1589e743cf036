"""Measure the linkage: precision, recall, time and peak memory to link N synthetic persons.

    .venv/bin/python bench/link_bench.py --persons 100000 --persons 500000
    .venv/bin/python bench/link_bench.py --persons 50000 --write-model gapwatch/linkage_model.json

Each size runs in a process of its own, so its peak memory (`ru_maxrss`, which includes DuckDB's)
is its own. The persons come from `gapwatch.demo.twins.population` (10% twin records with
realistic noise, seed 7); the true pairs follow from the seed and are never shown to the model.

As on import, a twin record that names an identifier its original holds (the same PNC id) does
not get it: the two are linked by the identifier, not by Splink. Those pairs are counted apart
(`by identifier`); precision and recall are Splink's, over the true pairs left to find. The
model is trained on the persons themselves (u by random sampling, m by EM, term frequencies),
exactly as `gapwatch link` does on a database of as many persons, the pairs linked by an
identifier serving as known pairs for the m probabilities (as the links of a database do).

`--write-model PATH` keeps the trained model as the one gapwatch ships for small databases.
`--train-records N` trains on a sample of N persons when there are more (`linkage.TRAIN_RECORDS`,
100,000 by default), then scores all of them with that model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THRESHOLDS = (0.1, 0.2, 0.5, 0.9, 0.99)


def rows_and_truth(persons: int, seed: int):
    """Return the persons as linkage rows, the true pairs Splink must find, and those linked
    on import by a shared identifier."""
    from gapwatch.demo.twins import population

    records, truth = population(persons, seed)
    number = {r.reference: i for i, r in enumerate(records)}
    held: dict[tuple[str, str], int] = {}
    by_identifier: set[tuple[int, int]] = set()
    rows = []
    for i, record in enumerate(records):
        row = {"unique_id": i, "given_name": record.given_name,
               "family_name": record.family_name,
               "date_of_birth": record.date_of_birth.isoformat(),
               "home_area": record.home_area, "pnc": None, "noms": None, "crn": None}
        for scheme, value in record.identifiers.items():
            holder = held.get((scheme, value))
            if holder is None:
                held[(scheme, value)] = i
                row[scheme] = value
            else:
                by_identifier.add((holder, i))
        rows.append(row)
    true = {tuple(sorted((number[a], number[b]))) for a, b in truth}
    return rows, true - by_identifier, by_identifier & true


def measure(persons: int, seed: int, threshold: float, write_model: str | None) -> dict:
    from gapwatch import linkage

    rows, true, by_identifier = rows_and_truth(persons, seed)
    started = time.perf_counter()
    found = linkage.link(rows, threshold=min(THRESHOLDS + (threshold,)), seed=seed,
                         labels=sorted(by_identifier))
    seconds = time.perf_counter() - started
    if write_model:
        Path(write_model).write_text(json.dumps(
            {"persons": persons, "model": found.model}, indent=1, sort_keys=True) + "\n")
    at = {}
    for cut in sorted({*THRESHOLDS, threshold}):
        # A pair already linked by an identifier is not proposed (`record_linkage`).
        kept = {(p.left, p.right) for p in found.pairs if p.probability >= cut} - by_identifier
        hits = len(kept & true)
        at[cut] = {"proposed": len(kept), "precision": round(hits / max(len(kept), 1), 4),
                   "recall": round(hits / max(len(true), 1), 4)}
    return {"persons": persons, "true_pairs": len(true), "by_identifier": len(by_identifier),
            "seconds": round(seconds, 1),
            "training_seconds": round(found.seconds.get("training", 0.0), 1),
            "prediction_seconds": round(found.seconds["prediction"], 1),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "trained_on": found.trained_on, "threshold": threshold,
            "at": {str(k): v for k, v in at.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, action="append", default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--write-model", default=None)
    parser.add_argument("--train-records", type=int, default=None,
                        help="train on a sample of this many persons above it "
                             "(default: linkage.TRAIN_RECORDS)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from gapwatch import linkage

    threshold = args.threshold or linkage.THRESHOLD
    sizes = args.persons or [100_000]
    if args.train_records:
        linkage.TRAIN_RECORDS = args.train_records
    if args.one:
        print(json.dumps(measure(sizes[0], args.seed, threshold, args.write_model)))
        return
    results = []
    for size in sizes:
        command = [sys.executable, __file__, "--one", "--persons", str(size),
                   "--seed", str(args.seed), "--threshold", str(threshold)]
        if args.write_model:
            command += ["--write-model", args.write_model]
        if args.train_records:
            command += ["--train-records", str(args.train_records)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(result)
        best = result["at"][str(threshold)]
        print(f"{size:>9,} persons: {result['true_pairs']:,} true pairs to find "
              f"(+{result['by_identifier']:,} linked by identifier); at {threshold}: "
              f"precision {best['precision']:.4f}, recall {best['recall']:.4f}; "
              f"{result['seconds']:.0f} s (training {result['training_seconds']:.0f} s on "
              f"{result['trained_on']:,}), "
              f"peak {result['peak_mb']:,} MB")
        for cut, values in result["at"].items():
            print(f"    p >= {cut:<5} proposed {values['proposed']:>7,}  "
                  f"precision {values['precision']:.4f}  recall {values['recall']:.4f}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

"""`gapwatch link`: Splink scores the persons of a small region and proposes its twins."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from gapwatch import linkage
from gapwatch.demo.twins import population
from gapwatch.events import apply_record, parse_record
from gapwatch.models import AuditEvent, LinkModel, LinkProposal
from gapwatch.operations import Actor, unit_of_work
from tests.support import region


def load_population(session, persons: int, seed: int = 3):
    records, truth = population(persons, seed)
    with unit_of_work(session, Actor.system("test")) as uow:
        for someone in records:
            apply_record(uow, parse_record(someone.record(
                restricted=someone.reference.endswith("7"))))
    return records, truth


def test_link_proposes_the_twins_of_a_small_region_and_explains_each(app, session):
    region(session)
    records, truth = load_population(session, 300)
    result = app.test_cli_runner().invoke(args=["link", "--json"])
    assert result.exit_code == 0, result.output
    proposals = json.loads(result.output)["proposals"]
    found = {tuple(sorted((p["a"], p["b"]))) for p in proposals}
    linked_on_import = {tuple(sorted(pair)) for pair in truth} - found
    assert len(found & truth) >= 0.8 * len(truth - linked_on_import)
    assert len(found & truth) >= 0.9 * len(found)  # mostly true twins
    first = proposals[0]
    assert set(first) >= {"a", "b", "probability", "match_weight", "reasons", "model_version"}
    assert first["probability"] >= linkage.THRESHOLD
    assert {r["comparison"] for r in first["reasons"]} == {
        "name", "date_of_birth", "pnc", "noms", "crn", "home_area"}
    # Person references only: no names of anyone, restricted or not, in the output.
    names = {r.family_name for r in records}
    assert not any(name in result.output for name in names if len(name) > 3)


def test_linking_again_rescores_open_proposals_under_a_new_model_version(app, session):
    region(session)
    load_population(session, 200)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["link"]).exit_code == 0
    before = session.execute(select(LinkProposal.id).order_by(LinkProposal.id)).scalars().all()
    again = runner.invoke(args=["link"])
    assert again.exit_code == 0 and "model 2:" in again.output and "0 proposed" in again.output
    session.rollback()
    assert session.execute(select(LinkProposal.id).order_by(LinkProposal.id)).scalars().all() == before
    assert [m.version for m in session.execute(select(LinkModel)).scalars()] == [1, 2]
    runs = session.execute(select(AuditEvent.detail).where(AuditEvent.action == "link.run"))
    assert [r["model_version"] for r in runs.scalars()] == [1, 2]


def test_a_model_is_trained_from_the_data_with_em_and_term_frequencies():
    records, truth = population(1500, seed=5)
    number = {r.reference: i for i, r in enumerate(records)}
    rows = [{"unique_id": i, "given_name": r.given_name, "family_name": r.family_name,
             "date_of_birth": r.date_of_birth.isoformat(), "home_area": r.home_area,
             "pnc": None, "noms": r.identifiers.get("noms"), "crn": r.identifiers.get("crn")}
            for i, r in enumerate(records)]
    started = time.perf_counter()
    found = linkage.link(rows, threshold=0.5)
    assert time.perf_counter() - started < 120
    true = {tuple(sorted((number[a], number[b]))) for a, b in truth}
    pairs = {(p.left, p.right) for p in found.pairs}
    assert len(pairs & true) >= 0.8 * len(true) and len(pairs & true) >= 0.9 * len(pairs)
    names = next(c for c in found.model["comparisons"] if c["output_column_name"] == "name")
    trained = [lv for lv in names["comparison_levels"] if not lv.get("is_null_level")]
    assert all(0 < lv["u_probability"] <= 1 for lv in trained)
    # EM leaves m unset on a level no pair of the training sample reached (on 1,500 persons,
    # "the same family name only"); every level it did estimate is a probability, and the
    # levels that decide most pairs are among them.
    estimated = {lv["label_for_charts"]: lv["m_probability"] for lv in trained
                 if lv.get("m_probability") is not None}
    assert all(0 < m <= 1 for m in estimated.values())
    assert {"the same names", "both names alike (a typo)", "different names"} <= set(estimated)
    assert any(lv.get("tf_adjustment_column") == "full_name" for lv in trained)


def test_the_scheduler_links_afresh_each_morning_before_the_scan(app, engine, session):
    from gapwatch import linking, scheduler

    jobs = scheduler.build(engine, {"LINK_AT": "05:30", "SCAN_AT": "06:00"})
    link_job = jobs.get_job("link")
    assert (str(link_job.trigger.fields[5]), str(link_job.trigger.fields[6])) == ("5", "30")
    region(session)
    load_population(session, 60)
    assert linking.run_scheduled(engine, app.config)["model_version"] == 1
    assert session.execute(select(LinkModel.trained_on)).scalar_one() > 60  # the shipped one

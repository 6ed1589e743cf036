"""The rule registry: every rule documented in docs/rules.md, and rules of other packages."""

from __future__ import annotations

from pathlib import Path

from gapwatch.rules import load_rules

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
SPEC_RULES = {"no-accountable-owner", "handoff-overdue", "release-unplanned", "age-transition",
              "contract-ending",
              "contract-lapsed", "unallocated", "ping-pong", "dual-ownership",
              "possible-same-person"}  # the last: issue 16 (docs/identity.md)


def test_every_rule_of_the_spec_is_registered():
    assert {r.code for r in load_rules()} == SPEC_RULES


def test_every_rules_docstring_is_its_section_of_the_docs():
    text = DOC.read_text()
    for each in load_rules():
        assert f"## {each.code}\n\n{each.doc}\n" in text, f"docs/rules.md is out of date for {each.code}"


def test_a_rule_of_another_package_registers_through_the_entry_point(tmp_path, monkeypatch):
    (tmp_path / "quiet_rules.py").write_text(
        '"""Quiet: a rule of another package."""\n'
        "from gapwatch.rules import rule\n\n"
        '@rule("quiet", "Never finds anything", quiet_days=3)\n'
        "def quiet(journey, context, *, quiet_days):\n"
        "    return iter(())\n"
    )
    info = tmp_path / "quiet_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: quiet-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gapwatch.rules]\nquiet = quiet_rules:quiet\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    load_rules.cache_clear()  # as if gapwatch started again with the package installed
    try:
        rules = {r.code: r for r in load_rules()}
    finally:
        load_rules.cache_clear()
    assert set(rules) == SPEC_RULES | {"quiet"}
    assert rules["quiet"].settings({"RULE_QUIET_DAYS": 5}) == {"quiet_days": 5}
    assert rules["quiet"].doc == "Quiet: a rule of another package."

"""The gap-finding rules: each module here is one rule, its docstring the rule's documentation.

A rule is a small pure function decorated with `@rule(code, title, **thresholds)`. It receives a
case's journey as it stood at the end of day `d` and a `Context` (the day, the contracts, its
thresholds) and yields `Found` items; it never writes. The engine (`gapwatch.scan`) turns them
into `Finding`s and persists flags. Thresholds are settings: `overlap_days` is read from the app
config key `RULE_OVERLAP_DAYS`, falling back to the default given to the decorator.

Adding a rule is adding a module to this package. Rules of other packages register through the
entry point group `gapwatch.rules`, each entry naming a decorated function.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import entry_points
from types import MappingProxyType

from gapwatch.journey import Journey

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gapwatch.rules"
SEVERE_RISKS = frozenset({"high", "very_high"})


@dataclass(frozen=True, slots=True)
class Found:
    """What a rule reports about one journey; the engine adds the case and the rule's code."""

    subject: str
    severity: str
    since: date
    notify: tuple[str, ...]
    message: str
    evidence: Mapping = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's finding about a case on a day: what becomes (or refreshes) a flag."""

    case_id: int
    case: str
    rule: str
    subject: str
    severity: str
    since: date
    notify: tuple[str, ...]
    message: str
    evidence: Mapping

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.case_id, self.rule, self.subject)

    def as_json(self) -> dict:
        """Return the finding as SPEC.md's scan output shows it."""
        return {
            "case": self.case,
            "rule": self.rule,
            "subject": self.subject,
            "severity": self.severity,
            "since": self.since.isoformat(),
            "notify": list(self.notify),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Contract:
    provider: str
    commissioner: str
    service: str
    starts_on: date
    ends_on: date | None

    def covers(self, day: date) -> bool:
        """Contracts are inclusive at both ends, as contracts are written."""
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Context:
    """What a rule may know besides the journey: the day, the contracts and its thresholds."""

    day: date
    contracts: Mapping[str, tuple[Contract, ...]] = field(default_factory=dict)

    def contracts_of(self, provider: str) -> tuple[Contract, ...]:
        return self.contracts.get(provider, ())


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    check: Callable[..., Iterable[Found]]
    thresholds: Mapping[str, int]
    doc: str

    def settings(self, config: Mapping) -> dict[str, int]:
        """Return this rule's thresholds, each overridden by config key `RULE_<NAME>` if set."""
        return {
            name: int(config.get(setting_key(name), default))
            for name, default in self.thresholds.items()
        }

    def run(self, journey: Journey, context: Context, settings: Mapping[str, int]) -> list[Finding]:
        case = journey.case
        return [
            Finding(
                case.id, case.reference, self.code, found.subject, found.severity, found.since,
                tuple(dict.fromkeys(a for a in found.notify if a)), found.message,
                found.evidence,
            )
            for found in self.check(journey, context, **settings)
        ]


def setting_key(threshold: str) -> str:
    return f"RULE_{threshold.upper()}"


def rule(code: str, title: str, **thresholds: int) -> Callable:
    """Mark a function as the rule `code`, with its title and its thresholds' defaults."""

    def mark(check: Callable) -> Callable:
        module = importlib.import_module(check.__module__)
        check.gapwatch_rule = Rule(code, title, check, MappingProxyType(dict(thresholds)),
                                   (module.__doc__ or "").strip())
        return check

    return mark


def _rules_of(module) -> list[Rule]:
    return [v.gapwatch_rule for v in vars(module).values() if hasattr(v, "gapwatch_rule")]


def load_rules() -> list[Rule]:
    """Return every rule: this package's modules, then the `gapwatch.rules` entry points."""
    found: dict[str, Rule] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for each in _rules_of(module):
            found[each.code] = each
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        target = entry.load()
        extra = getattr(target, "gapwatch_rule", None)
        if extra is None:
            log.warning("entry point %s is not a @rule function; ignored", entry.name)
        elif extra.code in found:
            log.warning("entry point %s repeats rule %s; the built-in one is kept", entry.name, extra.code)
        else:
            found[extra.code] = extra
    return sorted(found.values(), key=lambda r: r.code)


def severe(risk_level: str) -> bool:
    return risk_level in SEVERE_RISKS

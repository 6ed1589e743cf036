"""The gap-finding rules: each module here is one rule, its docstring the rule's documentation.

A rule is a small pure function decorated with `@rule(code, title, **thresholds)`. It receives a
case's journey as it stood at the end of day `d` and a `Context` (the day, the contracts, its
thresholds) and yields `Found` items; it never writes. The engine (`gapwatch.scan`) turns them
into `Finding`s and persists flags. Thresholds are settings: `overlap_days` is read from the app
config key `RULE_OVERLAP_DAYS`, falling back to the default given to the decorator.

Adding a rule is adding a module to this package. Rules of other packages register through the
entry point group `gapwatch.rules`, each entry naming a decorated function.

**When can a rule's answer next change?** Next to its check, a rule names its *turning points*
with `@turns(check)`: a pure function of the same arguments returning the days after
`context.day` on which, the journey unchanged, the rule's findings about it could appear,
disappear, or change severity, `since`, who to tell or evidence (a due day + 1, a release window
opening, an 18th birthday, a contract's end + 1...). Days of the journey's own rows that lie
ahead (an ownership that starts or ends later, a later decision or allocation, the case opening
or closing) are the engine's to add: `next_changes` combines both for a journey. Between two
consecutive turning points every rule says the same as on the first (only a message may name
the day); the forecast, and a scan that re-checks only the cases whose day has come, rely on it.
A rule that names no turning points is taken to change every day.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
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
    turning_points: Callable[..., Iterable[date]] | None = None

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


def turns(check: Callable) -> Callable:
    """Name `points` as the turning points of the rule `check` (see the module's docstring)."""

    def mark(points: Callable) -> Callable:
        check.gapwatch_rule = replace(check.gapwatch_rule, turning_points=points)
        return points

    return mark


def _rules_of(module) -> list[Rule]:
    return [v.gapwatch_rule for v in vars(module).values() if hasattr(v, "gapwatch_rule")]


@cache
def load_rules() -> tuple[Rule, ...]:
    """Return every rule: this package's modules, then the `gapwatch.rules` entry points.

    Read once per process (looking them up took 8 ms, and every scan, forecast and digest asks):
    a rule package installed later is found when gapwatch next starts, as with any plugin."""
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
    return tuple(sorted(found.values(), key=lambda r: r.code))


def severe(risk_level: str) -> bool:
    return risk_level in SEVERE_RISKS


def days_open(since: date, day: date) -> int:
    """How long a flag raised `since` has been open on `day`: whole days from `since` to `day`,
    0 on its first day. The one count the queues, the morning list, the digests and the journey
    picture's open gap all give."""
    return (day - since).days


# -- when can the answers next change -------------------------------------------------------------
ONE_DAY = timedelta(days=1)
HORIZON = timedelta(days=3660)  # how far ahead a turning point is looked for: ten years
Rules = Iterable[tuple[Rule, Mapping[str, int]]]


def journey_days(journey: Journey, day: date) -> list[date]:
    """Return the days after `day` of the journey's own rows: on each, `as_of` tells a new story."""
    case = journey.case
    days = {case.opened_on, case.closed_on}
    for o in journey.ownerships:
        days.update((o.starts_on, o.ends_on, o.allocated_on))
    for h in journey.handoffs:
        days.update((h.requested_on, h.decided_on))
    return sorted(d for d in days if d is not None and d > day)


def _stand(journey: Journey, day: date, ahead: list[date]) -> Journey:
    """Return the journey as of `day`, not copying it when nothing of it lies after `day`."""
    return journey.as_of(day) if ahead and ahead[-1] > day else journey


def findings_of(rule: Rule, settings: Mapping[str, int], journey: Journey, context: Context,
                ) -> list[Finding]:
    """Return one rule's findings on a journey as it stands at the end of `context.day`."""
    return rule.run(journey, context, settings) if journey.case.is_open_on(context.day) else []


def segments(journey: Journey, day: date, until: date) -> Iterable[tuple[date, date, Journey]]:
    """Yield (first day, last day, journey as it stands) for the stretches of `[day, until]`
    between the journey's own rows: within one, the journey as of any of its days is the same."""
    later = journey_days(journey, day)
    ahead = [d for d in later if d <= until]
    starts = [day, *ahead]
    for first, following in zip(starts, [*ahead, until + ONE_DAY], strict=True):
        yield first, following - ONE_DAY, _stand(journey, first, later)


def rule_turns(journey: Journey, context: Context, rules: Rules, until: date,
               ) -> dict[date, set[int]]:
    """Return the days of `(context.day, until]` on which a rule's answer may change, each with
    the indexes (in `rules`) of the rules that may change on it; on the journey's own days, all."""
    rules = list(rules)
    everyone = set(range(len(rules)))
    changes: dict[date, set[int]] = {}
    for first, last, standing in segments(journey, context.day, until):
        if first > context.day:
            changes[first] = set(everyone)
        here = replace(context, day=first)
        for index, (each, settings) in enumerate(rules):
            if each.turning_points is None:
                days = (first + ONE_DAY * n for n in range(1, (last - first).days + 1))
            else:
                days = each.turning_points(standing, here, **settings)
            for point in days:
                if first < point <= last:
                    changes.setdefault(point, set()).add(index)
    return changes


def next_changes(journey: Journey, context: Context, rules: Rules, until: date) -> list[date]:
    """Return the days of `(context.day, until]` on which any rule's finding about the journey
    could appear, go or change, nothing else happening: the journey's own later days, and
    every rule's turning points."""
    return sorted(rule_turns(journey, context, rules, until))


def next_change(journey: Journey, context: Context, rules: Rules,
                within: timedelta = HORIZON) -> date | None:
    """Return the first day after `context.day` on which any rule's answer could change
    (None: not within `within`, ten years unless told): `min(next_changes(...))`, reading only
    the stretch up to the journey's next own day, since that day is itself a change."""
    until = context.day + within
    ahead = journey_days(journey, context.day)
    first = ahead[0] if ahead and ahead[0] <= until else None
    limit = first or until + ONE_DAY
    standing = _stand(journey, context.day, ahead)
    for each, settings in rules:
        if each.turning_points is None:
            days = (context.day + ONE_DAY,)
        else:
            days = each.turning_points(standing, context, **settings)
        for point in days:
            if context.day < point < limit:
                limit = first = point
    return first


def findings_ahead(journey: Journey, context: Context, rules: Rules, until: date,
                   ) -> Iterator[tuple[date, list[Finding]]]:
    """Yield (day, findings of every rule on the journey as of that day) for `context.day` and
    each later turning point up to `until`; on the days between, the findings are the last
    ones yielded. Each rule is evaluated again only on its own turning points."""
    rules = list(rules)
    changes = rule_turns(journey, context, rules, until)
    ahead = journey_days(journey, context.day)
    standing = _stand(journey, context.day, ahead)
    current = [findings_of(r, s, standing, context) for r, s in rules]
    yield context.day, [f for each in current for f in each]
    for day in sorted(changes):
        here = replace(context, day=day)
        standing = _stand(journey, day, ahead)
        for index in changes[day]:
            current[index] = findings_of(*rules[index], standing, here)
        yield day, [f for each in current for f in each]

"""Metrics in the Prometheus exposition format, for /metrics.

Two kinds, so that several gunicorn workers answer the same:

- what a web worker sees (requests, their time) is counted in that worker by `prometheus_client`;
  under gunicorn set `PROMETHEUS_MULTIPROC_DIR` to an empty directory before it starts, and each
  worker writes its counts there for whichever worker answers the scrape to add up;
- what the database knows (flags, outbox, the last scan, the audit trail, imports) is read from
  it at each scrape, so every worker, and every scheduler or import process, agrees.

No label carries a person, a case reference or an address: `route` is Flask's URL rule
(`/cases/<reference>`), never the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY
from sqlalchemy import Engine, func, select

from gapwatch import clock, db, health
from gapwatch.models import AuditEvent, Flag, ImportBatch, JobRun

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Metric objects, like extension objects: made once, counting nothing until a request comes.
HTTP_REQUESTS = Counter(
    "gapwatch_http_requests", "HTTP requests answered, by Flask route, method and status.",
    ["route", "method", "status"])
HTTP_DURATION = Histogram(
    "gapwatch_http_request_duration_seconds", "Time to answer an HTTP request, by Flask route.",
    ["route", "method"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def observe(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route, method).observe(seconds)


class DatabaseCollector:
    """Read the metrics the database knows, at each scrape."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator:
        with db.new_session(self.engine) as session:
            yield from self._scan(session)
            yield from self._flags(session)
            yield from self._outbox(session)
            audit = CounterMetricFamily("gapwatch_audit_entries", "Entries in the audit trail.")
            audit.add_metric([], session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar())
            yield audit
            imported = CounterMetricFamily(
                "gapwatch_import_events", "Records loaded by bulk import files.")
            imported.add_metric([], session.execute(
                select(func.coalesce(func.sum(ImportBatch.records), 0))).scalar())
            yield imported

    def _scan(self, session) -> Iterator:
        run = session.execute(
            select(JobRun.finished_at, JobRun.scan_seconds)
            .where(JobRun.job == "daily-scan", JobRun.status == "done")
            .order_by(JobRun.finished_at.desc()).limit(1)).first()
        last = GaugeMetricFamily("gapwatch_scan_last_completed_timestamp_seconds",
                                 "When the last daily scan completed (Unix time); 0 before the first.")
        duration = GaugeMetricFamily("gapwatch_scan_duration_seconds",
                                     "How long the last completed daily scan took.")
        finished = _aware(run.finished_at) if run and run.finished_at else None
        last.add_metric([], finished.timestamp() if finished else 0)
        duration.add_metric([], float(run.scan_seconds or 0) if run else 0)
        yield last
        yield duration

    def _flags(self, session) -> Iterator:
        family = GaugeMetricFamily("gapwatch_flags_open",
                                   "Flags open (not acknowledged, not resolved), by rule and severity.",
                                   labels=["rule", "severity"])
        for rule, severity, count in session.execute(
                select(Flag.rule, Flag.severity, func.count()).where(Flag.status == "open")
                .group_by(Flag.rule, Flag.severity).order_by(Flag.rule, Flag.severity)):
            family.add_metric([rule, severity], count)
        yield family

    def _outbox(self, session) -> Iterator:
        counts, oldest = health.outbox_state(session)
        family = GaugeMetricFamily("gapwatch_outbox_messages",
                                   "Outbox messages: pending, failing (pending with an error), sent.",
                                   labels=["status"])
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family
        age = GaugeMetricFamily("gapwatch_outbox_oldest_pending_age_seconds",
                                "Age of the oldest message not yet sent; 0 when none waits.")
        age.add_metric([], max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0)
        yield age


def _aware(moment):
    return moment.replace(tzinfo=clock.now().tzinfo) if moment.tzinfo is None else moment


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def exposition(engine: Engine) -> bytes:
    """Return the text of a scrape: every worker's request counts, then the database's metrics."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
    else:
        workers = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(engine))
    return generate_latest(workers) + generate_latest(database)


"""The auditors' command line: `gapwatch export`, `gapwatch audit verify` and `audit checkpoint`."""

from __future__ import annotations

import getpass
import sys
import time
from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gapwatch import audit, checkpoint, db
from gapwatch import operations as ops
from gapwatch.cli import fail, parse_day
from gapwatch.errors import DomainError
from gapwatch.exports import FORMATS, export_case
from gapwatch.exports.bulk import export_all
from gapwatch.exports.check import check_export


def cli_actor() -> ops.Actor:
    """Return who exports from the command line: the operating-system user, read-only."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return ops.Actor(name=f"cli:{who}", read_only=True)


@click.command("export")
@click.argument("case", required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output (required with --all).")
@click.option("--as-of", callback=parse_day, help="The history as it stood at the end of this day.")
@click.option("--all", "everything", is_flag=True, help="Export every case into one zip.")
@click.option("--agency", help="With --all: only cases this agency was involved in.")
@click.option("--since", callback=parse_day, help="With --all: cases open on or after this day.")
@click.option("--until", callback=parse_day, help="With --all: cases open on or before this day.")
@with_appcontext
def export_command(case: str | None, fmt: str, output: Path | None, as_of: date | None,
                   everything: bool, agency: str | None, since: date | None, until: date | None):
    """Export a case's history (json, csv, html, pdf), or every case into a zip with --all."""
    if everything:
        if case or output is None:
            fail("--all exports every case: name no case, and give the zip with -o FILE.zip", 2)
        if as_of or fmt != "json":
            fail("--as-of and --format go with one case; --all writes JSON Lines as things are", 2)
        _bulk(output, agency, since, until)
        return
    if not case:
        fail("name a case to export, or use --all -o FILE.zip", 2)
    if agency or since or until:
        fail("--agency, --since and --until go with --all", 2)
    session = db.new_session(db.get_engine())
    try:
        written = export_case(session, cli_actor(), case, fmt=fmt, as_of=as_of)
    except DomainError as error:
        fail(error.message)
    finally:
        session.close()
    if output is None:
        sys.stdout.buffer.write(written)
    else:
        output.write_bytes(written)
        click.echo(f"Wrote {fmt} history of case {case} to {output}", err=True)


def _bulk(output: Path, agency: str | None, since: date | None, until: date | None) -> None:
    started = time.perf_counter()

    def progress(name: str, rows: int) -> None:
        click.echo(f"  {name}: {rows:,} rows ({time.perf_counter() - started:.1f}s)", err=True)

    try:
        manifest = export_all(db.get_engine(), output, actor=cli_actor(), agency=agency,
                              since=since, until=until, progress=progress)
    except DomainError as error:
        fail(error.message)
    rows = sum(f["rows"] for f in manifest["files"].values())
    seconds = time.perf_counter() - started
    head = manifest["audit_head"]
    click.echo(f"Wrote {rows:,} rows in {seconds:.1f}s ({rows / max(seconds, 1e-9):,.0f} rows/s) to "
               f"{output}; audit head {head['seq']} {head['hash']}", err=True)


@click.group("audit")
def audit_group():
    """Check the audit trail."""


@audit_group.command("verify")
@click.option("--export", "export_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also check this bulk export zip against the system.")
@click.option("--checkpoint", "checkpoints", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check the trail against this signed checkpoint (repeatable; default: every "
                   "checkpoint in CHECKPOINT_DIR).")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The checkpoints' public key (default: public_key.pem beside them, or the "
                   "signing key's own).")
@with_appcontext
def verify_command(export_path: Path | None, checkpoints: tuple[Path, ...],
                   public_key: Path | None):
    """Check the audit trail's hash chain and its signed checkpoints; exit 1 naming what broke."""
    session = db.new_session(db.get_engine())
    try:
        if export_path is not None:
            _verify_export(session, export_path)
            return
        verdict = audit.verify(session, progress=lambda n: click.echo(f"  {n:,} entries", err=True))
        if not verdict.ok:
            fail(f"audit chain BROKEN at entry {verdict.broken_seq} ({verdict.problem}): "
                 f"{verdict.message}; the {verdict.entries} entries before it are intact")
        report = _check_points(session, verdict, list(checkpoints), public_key)
    finally:
        session.close()
    if report is not None and not report.ok:
        fail("audit trail NOT as checkpointed:\n  " + "\n  ".join(report.problems))
    click.echo(f"audit chain intact: {verdict.entries} entries, head {verdict.head_seq} "
               f"{verdict.head_hash}")
    if report is None:
        folder = checkpoint.directory(current_app.config)
        click.echo(f"gapwatch: NO checkpoint was given or found in {folder}: a cut tail, rows "
                   "deleted from the end or a chain rebuilt from some entry on would NOT show. "
                   "Make them with `gapwatch audit checkpoint` (the scheduler does daily).",
                   err=True)
    else:
        _path, latest = max(report.checked, key=lambda pair: pair[1].made_at)
        click.echo(f"consistent with {len(report.checked)} signed checkpoint(s); the latest, "
                   f"{latest.describe()}, is still held")


def _check_points(session, verdict, paths: list[Path], public_key: Path | None):
    """Check the given checkpoints, or those of CHECKPOINT_DIR; None when there are none."""
    config = current_app.config
    folder = checkpoint.directory(config)
    paths = paths or checkpoint.found_in(folder)
    if not paths:
        return None
    try:
        key = _public_key(public_key, paths[0].parent, config)
    except checkpoint.CheckpointError as error:
        fail(str(error))
    return checkpoint.verify_all(session, verdict, paths, key)


def _public_key(given: Path | None, beside: Path, config):
    if given is not None:
        return checkpoint.load_public_key(given)
    if (beside / checkpoint.PUBLIC_KEY_FILE).exists():
        return checkpoint.load_public_key(beside / checkpoint.PUBLIC_KEY_FILE)
    if checkpoint.key_path(config).exists():
        return checkpoint.signing_key(config).public_key()
    raise checkpoint.CheckpointError(f"no public key to check the checkpoints with: give "
                                     f"--public-key, or keep {checkpoint.PUBLIC_KEY_FILE} beside them")


@audit_group.command("checkpoint")
@with_appcontext
def checkpoint_command():
    """Sign the trail's head (entry count and last hash) and write it to CHECKPOINT_DIR."""
    try:
        path, made = checkpoint.publish(db.get_engine(), current_app.config)
    except checkpoint.CheckpointError as error:
        fail(str(error))
    click.echo(f"Signed {made.describe()} with key {made.key_id}; wrote {path}")


@audit_group.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keygen_command(path: Path):
    """Make a new Ed25519 signing key for the checkpoints at PATH (mode 0600, never overwritten)."""
    try:
        key = checkpoint.create_key(path)
    except checkpoint.CheckpointError as error:
        fail(str(error))
    click.echo(f"Wrote signing key {checkpoint.key_id(key.public_key())} to {path}; set "
               f"GAPWATCH_AUDIT_KEY_FILE={path}. Its public key:")
    click.echo(checkpoint.public_pem(key.public_key()).decode(), nl=False)


def _verify_export(session, path: Path) -> None:
    problems, verdict, manifest = check_export(session, path)
    if problems:
        for problem in problems:
            click.echo(f"gapwatch: {path}: {problem}", err=True)
        sys.exit(1)
    head = manifest["audit_head"]
    click.echo(f"export {path} matches the system: {len(manifest['files'])} files intact, "
               f"audit head {head['seq']} {head['hash']} still in a chain of {verdict.entries} "
               "intact entries")

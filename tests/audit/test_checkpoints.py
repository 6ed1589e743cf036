"""Signed checkpoints: a cut tail, an emptied trail or a rebuilt chain no longer verify as intact."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from gapwatch import audit, checkpoint
from gapwatch.models import AuditEvent
from tests.audit.conftest import tampering


def run(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def make(app) -> Path:
    result = run(app, "checkpoint")
    assert result.exit_code == 0, result.output
    assert "Signed the checkpoint of" in result.output
    return Path(result.output.rsplit("wrote ", 1)[1].strip())


def rebuild_from(session, seq: int) -> None:
    """Rewrite entry `seq` on and re-chain every later entry: a chain valid from end to end."""
    rows = session.execute(text("SELECT seq FROM auditevent WHERE seq >= :s ORDER BY seq"),
                           {"s": seq}).scalars().all()
    prev = session.execute(text("SELECT hash FROM auditevent WHERE seq = :s"),
                           {"s": seq - 1}).scalar() or audit.GENESIS
    for number in rows:
        entry = session.get(AuditEvent, session.execute(
            text("SELECT id FROM auditevent WHERE seq = :s"), {"s": number}).scalar())
        if number == seq:
            entry.actor = "user:someone-else@example"
        entry.prev_hash = prev
        session.flush()
        entry.hash = prev = audit.entry_hash(audit.Entry(
            entry.seq, entry.at, entry.actor, entry.action, entry.case_id, entry.case_reference,
            entry.detail, entry.prev_hash, ""))
        session.flush()


def test_without_a_checkpoint_verify_says_so_plainly(app, journey):
    result = run(app, "verify")
    assert result.exit_code == 0
    assert "NO checkpoint was given or found" in result.output


def test_an_untouched_trail_is_consistent_with_its_checkpoints(app, journey):
    make(app)
    make(app)
    result = run(app, "verify")
    assert result.exit_code == 0, result.output
    assert "consistent with 2 signed checkpoint(s)" in result.output


def test_the_signing_key_is_made_once_with_mode_0600(app, journey):
    make(app)
    key = Path(app.config["AUDIT_KEY_FILE"])
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    before = key.read_bytes()
    make(app)
    assert key.read_bytes() == before


@pytest.mark.parametrize("cut", ["tail", "everything"])
def test_a_cut_trail_is_caught(app, journey, cut):
    make(app)
    head = audit.chain_head(journey)[0]
    keep = head - 3 if cut == "tail" else 0
    with tampering(journey) as session:
        session.execute(text("DELETE FROM auditevent WHERE seq > :keep"), {"keep": keep})
    assert audit.verify(journey).ok  # the chain alone cannot tell
    result = run(app, "verify")
    assert result.exit_code == 1
    assert f"the trail holds {keep} entries" in result.output
    assert "were cut off its end" in result.output


def test_a_chain_rebuilt_from_an_entry_on_is_caught(app, journey):
    make(app)
    with tampering(journey) as session:
        rebuild_from(session, 3)
    assert audit.verify(journey).ok
    result = run(app, "verify")
    assert result.exit_code == 1
    assert "the chain was rebuilt from entry" in result.output


def test_a_forged_checkpoint_is_refused(app, journey):
    path = make(app)
    data = json.loads(path.read_text())
    data["entries"] += 1
    path.write_text(json.dumps(data))
    result = run(app, "verify", "--checkpoint", str(path))
    assert result.exit_code == 1
    assert "the signature does not match its content" in result.output


def test_a_checkpoint_signed_by_another_key_is_refused(app, journey, tmp_path):
    path = make(app)
    other = tmp_path / "other.pem"
    run(app, "keygen", str(other))
    public = tmp_path / "other.pub"
    public.write_bytes(checkpoint.public_pem(checkpoint.load_public_key_of(other)))
    result = run(app, "verify", "--checkpoint", str(path), "--public-key", str(public))
    assert result.exit_code == 1
    assert "not by the key given" in result.output


def test_two_checkpoints_that_disagree_are_inconsistent(app, journey):
    older = make(app)
    newer = make(app)
    key = checkpoint.signing_key(app.config)
    # Signed with the real key (as if the key had leaked), but counting fewer entries later on.
    forged = checkpoint.Checkpoint(1, "0" * 64, "2999-01-01T00:00:00+00:00",
                                   checkpoint.key_id(key.public_key()))
    signed = checkpoint.Checkpoint(forged.entries, forged.head, forged.made_at, forged.key_id,
                                   base64.b64encode(key.sign(forged.signed_bytes())).decode())
    path = newer.with_name("checkpoint-29990101T000000Z-000000000001.json")
    path.write_text(json.dumps(signed.as_json()))
    result = run(app, "verify")
    assert result.exit_code == 1
    assert "is inconsistent with the older" in result.output
    assert older.exists()


def test_keygen_never_overwrites_a_key(app, tmp_path):
    path = tmp_path / "k.pem"
    assert run(app, "keygen", str(path)).exit_code == 0
    again = run(app, "keygen", str(path))
    assert again.exit_code == 1 and "never overwritten" in again.output


def test_the_daily_run_writes_a_checkpoint(app, journey, engine):
    from gapwatch.scheduler import run_daily
    from tests.support import D

    with app.app_context():
        outcome = run_daily(engine, app.config, D("2026-06-20"))
    assert outcome.ran
    [written] = checkpoint.found_in(Path(app.config["CHECKPOINT_DIR"]))
    assert checkpoint.read(written).entries > 0
    assert run(app, "verify").exit_code == 0


def test_the_audit_page_says_whether_the_latest_checkpoint_is_held(app, journey, client):
    from tests.web.conftest import add_user, sign_in

    add_user(journey, "auditor")
    sign_in(client, "auditor@inspect.example")
    assert "No checkpoint." in client.get("/audit").text
    make(app)
    assert "Checkpoint held." in client.get("/audit").text
    with tampering(journey) as session:
        session.execute(text("DELETE FROM auditevent WHERE seq > 2"))
    page = client.get("/audit").text
    assert "NOT as checkpointed." in page and "were cut off its end" in page

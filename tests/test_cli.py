"""The command line's foundation commands: init, user add, and what is not built yet."""

from __future__ import annotations

from sqlalchemy import inspect

from gapwatch import db
from gapwatch import operations as ops
from tests.support import region


def test_init_creates_the_schema_and_running_it_again_changes_nothing(tmp_path, monkeypatch):
    from gapwatch import create_app

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "Database ready" in result.output
    engine = db.make_engine(url)
    assert {"agency", "cases", "handoff", "ownership", "auditevent"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_user_add_reads_the_password_from_stdin_and_the_user_can_sign_in(app, session):
    region(session)
    result = app.test_cli_runner().invoke(
        args=["user", "add", "Duty@WMIDS.example", "--role", "case_manager", "--agency", "WMIDS",
              "--password-stdin"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created case_manager duty@wmids.example of WMIDS" in result.output
    with ops.unit_of_work(session, ops.Actor.system("test")) as uow:
        assert ops.attempt_login(uow, email="duty@wmids.example", password="a long enough secret")


def test_user_add_refuses_a_case_manager_without_an_agency(app):
    result = app.test_cli_runner().invoke(
        args=["user", "add", "x@y.example", "--role", "case_manager", "--password-stdin"],
        input="a long enough secret\n",
    )
    assert result.exit_code == 1
    assert "a case manager needs an agency" in result.output

"""Configuration errors: every one at once, each with its fix, near-miss names and the
`.env` path that was read."""

from __future__ import annotations

from pathlib import Path

from tests.cli.process import gzsync


def test_every_problem_at_once_with_did_you_mean_and_the_env_path(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "BASE_URL=http://127.0.0.1:9\nAUTH_USERNAME=sync\nAUTH_PASWORD=secret-value\n"
    )
    result = gzsync("run", env={"ZOHO_CONCURENCY": "3"}, cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr
    env_path = str((tmp_path / ".env").resolve())
    assert f"settings read from the environment and {env_path}" in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("gzsync: 4 configuration problem(s)")
    problems = [line.strip().split(":")[0] for line in lines[1:]]
    assert problems[:4] == [
        "AUTH_PASSWORD",
        "ZOHO_CLIENT_ID",
        "ZOHO_CLIENT_SECRET",
        "ZOHO_REFRESH_TOKEN",
    ]
    assert "did you mean AUTH_PASWORD" in lines[1]
    assert "fix: set AUTH_PASSWORD" in lines[1]
    assert any("ZOHO_CONCURENCY (in the environment)" in line for line in lines)
    assert any("did you mean ZOHO_CONCURRENCY?" in line for line in lines)
    assert "secret-value" not in err


def test_malformed_values_are_all_listed_and_say_where_no_env_file_is(tmp_path: Path) -> None:
    result = gzsync("status", env={"TIMEOUT_MS": "soon", "ZOHO_CONCURRENCY": "11"}, cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr
    assert "TIMEOUT_MS:" in err
    assert "ZOHO_CONCURRENCY:" in err
    assert "fix: set ZOHO_CONCURRENCY to a whole number from 1 to 10" in err
    assert f"no .env file at {(tmp_path / '.env').resolve()}" in err


def test_a_wrong_case_name_is_a_near_miss(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("Base_Url=http://127.0.0.1:9\n")
    result = gzsync("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "BASE_URL: is not set" in result.stderr
    assert "did you mean Base_Url" in result.stderr


def test_malformed_and_missing_values_are_reported_in_one_pass(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BASE_URL=http://127.0.0.1:9\nAUTH_PASWORD=secret-value\n")
    env = {"TIMEOUT_MS": "soon", "ZOHO_CONCURRENCY": "11", "STATE_DB": str(tmp_path / "s.db")}
    for command in (["run"], ["check"], ["ledger", "retry"]):
        result = gzsync(*command, env=env, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("gzsync: 7 configuration problem(s)"), (command, lines)
        assert f"settings read from the environment and {(tmp_path / '.env').resolve()}" in lines[0]
        problems = {line.strip().split(":")[0]: line for line in lines[1:8]}
        assert list(problems)[2:] == [  # the malformed ones first, then the missing ones
            "AUTH_USERNAME",
            "AUTH_PASSWORD",
            "ZOHO_CLIENT_ID",
            "ZOHO_CLIENT_SECRET",
            "ZOHO_REFRESH_TOKEN",
        ], command
        assert set(list(problems)[:2]) == {"TIMEOUT_MS", "ZOHO_CONCURRENCY"}
        assert (
            "fix: set ZOHO_CONCURRENCY to a whole number from 1 to 10"
            in problems["ZOHO_CONCURRENCY"]
        )
        assert "did you mean AUTH_PASWORD" in problems["AUTH_PASSWORD"]
        assert "secret-value" not in result.stderr
    # a command that does not sync still reports only what it reads
    status = gzsync("status", env=env, cwd=tmp_path)
    assert status.returncode == 2
    assert status.stderr.startswith("gzsync: 2 configuration problem(s)")
    assert "AUTH_USERNAME" not in status.stderr

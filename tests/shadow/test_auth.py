"""The API token: never empty, never half-written (a hunt found an empty token let
``Authorization: Bearer`` with no token promote and roll back)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.errors import ConfigError
from edgewise.shadow.gateway import TOKEN_ENV, api_token
from edgewise.shadow.gateway._auth import check_bearer, token_path


def test_an_empty_token_opens_nothing(monkeypatch: pytest.MonkeyPatch, model_path) -> None:  # type: ignore[no-untyped-def]
    assert not check_bearer("Bearer", "") and not check_bearer("Bearer ", "")
    token_path().write_text("  \n")
    with pytest.raises(ConfigError, match="is empty"):
        api_token()
    prod = str(model_path("mlp-tiny"))
    res = CliRunner().invoke(app, ["shadow", "serve", "--production", prod, "--port", "0"])
    assert res.exit_code == 2 and "is empty" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    # a blank $EDGEWISE_TOKEN counts as unset: the file decides
    token_path().unlink()
    monkeypatch.setenv(TOKEN_ENV, "   ")
    made = api_token()
    assert made and len(made) >= 32 and token_path().read_text().strip() == made
    monkeypatch.setenv(TOKEN_ENV, "caf\u00e9")  # an HTTP header cannot carry it
    with pytest.raises(ConfigError, match="printable ASCII"):
        api_token()


def test_processes_racing_for_the_token_file_agree(tmp_path: Path) -> None:
    """Each reads the file only once it is whole: the first to link it wins."""
    home = tmp_path / "race"
    home.mkdir()
    code = "from edgewise.shadow.gateway import api_token; print(api_token())"
    env = {"EDGEWISE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    tokens = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(tokens) == 1 and len(tokens.pop()) >= 32
    assert [f.name for f in home.iterdir()] == ["token"]  # no temporary file left behind

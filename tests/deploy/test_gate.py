"""The pre-deploy gate on a real stored measurement: fits, does not fit, uncertain; recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewise.cli import app
from edgewise.deploy import DOES_NOT_FIT, FITS, UNCERTAIN, decide, gate, list_deployments
from edgewise.errors import DataError, UnknownNameError
from edgewise.stats import quantile_ci
from edgewise.store import Store


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """mlp-tiny profiled for real on device 'gate-dev', in a module-wide SQLite store."""
    from edgewise.profile import ProfileSettings, profile_model, save_result
    from edgewise.zoo import write_example

    folder = tmp_path_factory.mktemp("gate")
    model = write_example("mlp-tiny", folder)
    url = f"sqlite:///{folder / 'gate.db'}"
    settings = ProfileSettings(
        duration_s=0.3,
        min_queries=300,
        warmup=10,
        threads=1,
        device_name="gate-dev",
        operator_runs=0,
    )
    with Store(url) as store:
        save_result(profile_model(model, settings), store)
    return model, url


def _interval(url: str) -> tuple[float, float]:
    with Store(url) as store:
        m = store.list_measurements(device="gate-dev", with_latencies=True)[0]
    return quantile_ci(m.latencies_ms, 0.99)


@pytest.mark.parametrize("where", ["below", "inside", "above"])
def test_gate_decides_from_the_measured_interval(measured: tuple[Path, str], where: str) -> None:
    model, url = measured
    lo, hi = _interval(url)
    assert lo < hi
    slo = {"below": lo / 2, "inside": (lo + hi) / 2, "above": hi * 2}[where]
    with Store(url) as store:
        result = gate(model, device="gate-dev", slo_ms=slo, store=store)
        assert result.decision == {"below": DOES_NOT_FIT, "inside": UNCERTAIN, "above": FITS}[where]
        assert result.exit_code == {"below": 1, "inside": 3, "above": 0}[where]
        assert (result.lo_ms, result.hi_ms) == (lo, hi) and result.source == "measurement"
        assert result.samples >= 300 and "p99" in result.reason
        event = store.list_deployments(event="gate")[0]
        assert event.id == result.event_id and event.verdict == result.decision
        # a measurement is an observation; no predictor is trained here to predict it
        assert event.observed_ms == result.estimate_ms and event.slo_ms == slo
        assert event.predicted_ms is None and event.detail["interval_ms"] == [lo, hi]


def test_gate_cli_exit_codes_and_json(
    measured: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, url = measured
    monkeypatch.setenv("EDGEWISE_DB", url)
    lo, hi = _interval(url)
    runner = CliRunner()
    res = runner.invoke(
        app, ["gate", str(model), "--device", "gate-dev", "--slo-ms", str(hi * 2), "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["decision"] == "fits" and doc["exit_code"] == 0 and doc["hi_ms"] == hi
    res = runner.invoke(app, ["gate", str(model), "--device", "gate-dev", "--slo-ms", str(lo / 2)])
    assert res.exit_code == 1 and "does not fit" in res.stdout
    res = runner.invoke(
        app,
        [
            "gate",
            str(model),
            "--device",
            "gate-dev",
            "--slo-ms",
            str((lo + hi) / 2),
            "--percentile",
            "99",
        ],
    )
    assert res.exit_code == 3 and "uncertain" in res.stdout
    listed = runner.invoke(app, ["deployments", "list", "--event", "gate", "--json"])
    assert listed.exit_code == 0
    assert [e["verdict"] for e in json.loads(listed.stdout)][:3] == [
        "uncertain",
        "does not fit",
        "fits",
    ]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--device", "gate-dev", "--slo-ms", "-1"], "--slo-ms"),
        (["--device", "gate-dev", "--slo-ms", "5", "--percentile", "100"], "--percentile"),
        (["--device", "gate-devv", "--slo-ms", "5"], "did you mean 'gate-dev'"),
        (["--device", "", "--slo-ms", "5"], "--device must name a device"),
    ],
)
def test_gate_bad_input_is_one_line_exit_2(
    measured: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    model, url = measured
    monkeypatch.setenv("EDGEWISE_DB", url)
    before = len(list_deployments(store=Store(url)))
    res = CliRunner().invoke(app, ["gate", str(model), *args])
    assert res.exit_code == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert len(list_deployments(store=Store(url))) == before  # nothing recorded


def test_unmeasured_model_without_predictor_says_what_to_do(
    measured: tuple[Path, str], model_path
) -> None:  # type: ignore[no-untyped-def]
    _, url = measured
    with Store(url) as store:
        with pytest.raises(DataError, match="edgewise profile"):
            gate(model_path("cnn-small"), device="gate-dev", slo_ms=5, store=store)
        with pytest.raises(UnknownNameError, match="edgewise profile cnn-small.onnx --device-name"):
            gate(model_path("cnn-small"), device="elsewhere", slo_ms=5, store=store)


def test_decide_rule() -> None:
    assert decide(lo_ms=1, hi_ms=5, slo_ms=5) == FITS
    assert decide(lo_ms=5, hi_ms=6, slo_ms=5) == UNCERTAIN
    assert decide(lo_ms=5.01, hi_ms=6, slo_ms=5) == DOES_NOT_FIT
    assert decide(lo_ms=1, hi_ms=float("inf"), slo_ms=5) == UNCERTAIN


def test_gate_judges_the_newest_valid_run_of_its_scenario(
    measured: tuple[Path, str], tmp_path: Path
) -> None:
    """A walkthrough's gate read a later INVALID multi-stream run (p99 70 ms against the
    single-stream run's 5.9) as the evidence. Now an offline run, and a newer INVALID
    single-stream run, leave the decision on the valid single-stream run."""
    import dataclasses
    import shutil

    from edgewise.profile import ProfileSettings, profile_model, save_result

    model, url = measured
    copy = tmp_path / "gate.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    with Store(url) as store:
        first = store.list_measurements(device="gate-dev")[0]
        assert first.scenario == "single-stream" and first.valid
        base = dict(device_name="gate-dev", operator_runs=0, warmup=2, threads=1)
        offline = profile_model(
            model, ProfileSettings(scenario="offline", duration_s=0.2, min_queries=1, **base)
        )
        save_result(offline, store)
        run = profile_model(model, ProfileSettings(duration_s=0.2, min_queries=50, **base))
        m, mod, dev = run.to_records()
        slow = tuple(x * 100 for x in m.latencies_ms)  # an INVALID run, much slower
        store.add_measurement(
            dataclasses.replace(m, valid=False, latencies_ms=slow), model=mod, device=dev
        )
        result = gate(model, device="gate-dev", slo_ms=1e6, store=store)
        assert result.measurement_id == first.id and result.scenario == "single-stream"
        assert "single-stream" in result.reason and "INVALID" not in result.reason
        with pytest.raises(DataError, match="--scenario server"):
            gate(model, device="gate-dev", slo_ms=1.0, store=store, scenario="Server")
        n_events = len(store.list_deployments(event="gate"))
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["gate", str(model), "--device", "gate-dev", "--slo-ms", "5", "--scenario", "offline"],
        env={"EDGEWISE_DB": url},
    )
    assert res.exit_code == 2 and "offline" in res.output and len(res.output.splitlines()) == 1
    with Store(url) as store:
        assert len(store.list_deployments(event="gate")) == n_events  # nothing recorded

"""Sweeps: space parsing, the objective, real Optuna storage (SQLite and a real PostgreSQL server).

The end-to-end tests run ``miiii sweep`` as real processes on the smoke preset with the shapes
fixed (d_model=32, n_heads=2), so every batch of trials is one vmapped multi-run.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from miiii.cli import main
from miiii.config import Config, ConfigError, Grid, preset
from miiii.sweep import DEFAULT_SPACE, objective, open_storage, parse_space

SMOKE = ["--preset", "smoke", "epochs=16", "d_model=32", "n_heads=2"]
ENV = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1"}


def _sweep(storage: str, study: str, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "miiii.cli", "sweep", "--study", study, "--storage", storage,
            "--out", str(out), *SMOKE, *extra]


def _load(storage: str, study: str):
    import optuna
    return optuna.load_study(study_name=study, storage=open_storage(storage, heartbeat=None))


def _wait(cond, timeout: float, what: str, procs=()):
    t0 = time.time()
    while not cond():
        for p in procs:
            if p.poll() is not None:
                out = p.stdout.read() if p.stdout else ""
                raise AssertionError(f"a worker exited ({p.returncode}) while waiting for {what}:\n{out}")
        if time.time() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _told(stdout: str) -> list[int]:
    return [int(n) for n in re.findall(r"^trial (\d+): value", stdout, re.M)]


# ---- space ----------------------------------------------------------------------------
def test_default_space_is_the_studys():
    space = parse_space(Config(), [])
    assert space.choices == DEFAULT_SPACE
    assert set(DEFAULT_SPACE["weight_decay"]) == {0, 0.1, 1 / 3, 0.5, 1}
    assert set(DEFAULT_SPACE["dropout"]) == {0, 0.5, 0.2, 0.1} and set(DEFAULT_SPACE["lambda"]) == {0, 0.5, 2}
    assert space.shape_keys == ["d_model", "n_heads"]


def test_fix_and_list_parameters():
    space = parse_space(preset("smoke"), ["p=13", "lr=1e-3,3e-3", "weight_decay=1/3,1", "mask=2,3;none", "dropout=0"])
    assert space.base.p == 13 and space.base.dropout == 0
    assert "dropout" not in space.choices and "p" not in space.choices
    assert space.choices["lr"] == (1e-3, 3e-3) and space.choices["weight_decay"] == (1 / 3, 1.0)
    assert space.choices["mask"] == ((2, 3), ())
    assert space.choices["d_model"] == (128, 256)  # not given: the study's choices
    assert space.distributions()["mask"].choices == ("2,3", "none")
    cfg = space.config({"mask": "none", "lr": 3e-3, "d_model": 256})
    assert cfg.mask == () and cfg.lr == 3e-3 and cfg.d_model == 256 and cfg.p == 13
    assert space.config({"mask": "2,3"}).mask == (2, 3)


@pytest.mark.parametrize("items, needle", [
    (["nope=1"], "unknown parameter 'nope'"),
    (["lr="], "empty value"),
    (["lr=1e-3,"], "empty value"),
    (["lr=1e-3,1e-3"], "repeated"),
    (["dropout=0.1,2"], "dropout"),
    (["d_model=30"], "d_model"),  # not a multiple of the listed heads 4, 8
    (["d_model=24,32", "n_heads=3,8"], "invalid combination"),
    (["lr"], "key=value"),
])
def test_bad_space_is_a_config_error(items, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_space(Config(), items)


@pytest.mark.parametrize("argv, needle", [
    (["--storage", "postgresql://miiii@127.0.0.1:1/none"], "cannot open postgresql://miiii@127.0.0.1:1/none"),
    (["--storage", "sqlite:////no/such/dir/x.db"], "cannot open sqlite"),
    (["--storage", "not-a-url"], "expected a URL"),
    (["nope=1"], "unknown parameter"),
    (["lr="], "empty value"),
    (["--workers", "0"], "--workers"),
])
def test_cli_bad_input_one_line_exit_2(argv, needle, capsys):
    assert main(["sweep", "--study", "s", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("miiii: error: ") and needle in err and err.count("\n") == 1, err


# ---- objective and multi-run --------------------------------------------------------
def _summary(groks, losses, epochs=100):
    return {"epochs": epochs, "subtasks": [2, 3, 5, 7],
            "runs": [{"grok_epoch": groks, "final_valid_loss": losses, "final_valid_acc": [1.0] * 4}]}


def test_objective_is_lexicographic():
    cfg = preset("smoke")
    v = lambda g, loss=0.1, c=cfg: objective(c, _summary(g, [loss] * 4), 0)[0]  # noqa: E731
    assert v([1, 2, 3, 40]) < v([1, 2, 3, 50]) < v([1, 2, 3, 100]) < v([1, 2, 3, None]) < v([1, None, 3, None])
    assert v([1, 2, 3, 40], 0.1) < v([1, 2, 3, 40], 0.2) < v([1, 2, 3, 41], 0.0)
    assert v([None] * 4, 1.0) < v([None] * 4, float("nan")) <= 2.0 + 0.5 / 100
    value, attrs = objective(cfg, _summary([1, 2, 3, 40], [0.5] * 4), 0)
    assert attrs["all_grokked_epoch"] == 40 and attrs["grokked"] == 4 and 0.40 < value < 0.41
    # sub-tasks out of the loss do not count
    assert v([None, None, 3, 40], c=cfg.replace(mask="2,3")) == v([1, 2, 3, 40])


def test_grid_of_runs_is_an_explicit_list():
    b = preset("smoke")
    runs = [b.replace(lr=1e-3), b.replace(dropout=0.0, mask="2"), b.replace(lr=1e-3)]
    g = Grid.of_runs(runs)
    assert g.runs == runs and len(g.runs) == 3  # not the 2 x 2 x 2 product
    d = json.loads(json.dumps(g.to_dict()))
    assert Grid.from_dict(d).runs == runs and Grid.from_dict(d).to_dict() == g.to_dict()
    assert Grid.of_runs([b, b]).runs == [b, b]
    with pytest.raises(ConfigError, match="must share d_model"):
        Grid.of_runs([b, b.replace(d_model=64)])


# ---- SQLite: complete, interrupt, resume, report ----------------------------------------
@pytest.fixture(scope="module")
def sqlite_sweep(tmp_path_factory):
    """4 trials, 2 per multi-run; SIGINT during the second batch, then the same command again."""
    tmp = tmp_path_factory.mktemp("sweep")
    url, out = f"sqlite:///{tmp}/s.db", tmp / "runs"
    cmd = _sweep(url, "s", out, "--trials", "4", "--workers", "2")
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    db = tmp / "s.db"

    def first_batch_done() -> bool:
        from optuna.trial import TrialState
        if not db.exists():
            return False
        try:
            st = _load(url, "s")
        except Exception:
            return False
        trials = st.get_trials(deepcopy=False)
        # both trials of the second batch asked and assigned their run directory: an interrupt
        # between the two asks would fail one trial only (correct, but not what this test checks)
        return (sum(t.state == TrialState.COMPLETE for t in trials) >= 2
                and sum(t.state == TrialState.RUNNING and "run_dir" in t.user_attrs for t in trials) >= 2)

    _wait(first_batch_done, 240, "the first batch", [first])
    first.send_signal(signal.SIGINT)
    out1 = first.communicate(timeout=120)[0]
    done = {t.number: (t.value, t.user_attrs["run_dir"]) for t in _load(url, "s").get_trials()
            if t.state.name == "COMPLETE"}
    mtimes = {n: os.stat(Path(d) / "summary.json").st_mtime_ns for n, (_, d) in done.items()}
    second = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    return dict(url=url, out=out, first_rc=first.returncode, out1=out1, done=done, mtimes=mtimes,
                second=second, tmp=tmp)


@pytest.mark.slow
def test_sqlite_sweep_completes_and_resumes(sqlite_sweep):
    s = sqlite_sweep
    assert s["first_rc"] == 130, s["out1"]
    assert s["second"].returncode == 0, s["second"].stdout + s["second"].stderr
    trials = _load(s["url"], "s").get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(complete) == 4 and len(s["done"]) == 2
    # finished trials were not redone: same values, summaries untouched, not told again
    for n, (value, run_dir) in s["done"].items():
        assert trials[n].value == value
        assert os.stat(Path(run_dir) / "summary.json").st_mtime_ns == s["mtimes"][n]
    told_again = _told(s["second"].stdout)
    assert not set(told_again) & set(s["done"]) and len(told_again) == 2
    # the interrupted batch failed and was retried with the same parameters, in the same run directory
    assert len(failed) == 2
    retries = {t.system_attrs["failed_trial"]: t for t in complete if "failed_trial" in t.system_attrs}
    assert sorted(retries) == sorted(t.number for t in failed)
    for f in failed:
        assert retries[f.number].params == f.params
        assert retries[f.number].user_attrs["run_dir"] == f.user_attrs["run_dir"]
    # every trial's run directory holds its run, with the trial's parameters
    for t in complete:
        summary = json.loads((Path(t.user_attrs["run_dir"]) / "summary.json").read_text())
        cfg = summary["runs"][t.user_attrs["run_index"]]["config"]
        assert all(cfg[k] == v for k, v in t.params.items())
    assert len({t.user_attrs["run_dir"] for t in complete}) == 2  # 2 trials per vmapped multi-run


@pytest.mark.slow
def test_report_renders(sqlite_sweep, capsys):
    page = sqlite_sweep["tmp"] / "report.html"
    assert main(["sweep-report", "--study", "s", "--storage", sqlite_sweep["url"], "--out", str(page)]) == 0
    html = page.read_text()
    for part in ("Best trials", "Optimisation history", "Parameter importances", "Slice plots", "Search space"):
        assert part in html
    assert html.count("Plotly.newPlot") >= 3  # three figures drawn
    assert "<script src=" not in html.replace("'", '"') and "plotly.js v" in html.lower()  # inline, offline
    assert main(["sweep-report", "--study", "nope", "--storage", sqlite_sweep["url"], "--out", str(page)]) == 2


# ---- PostgreSQL: a real server, many workers -------------------------------------------------
@pytest.fixture(scope="module")
def postgres():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); run .ci/install-postgres.sh")
    pytest.importorskip("psycopg2", reason="psycopg2 not installed (pip install -e .[test])")
    bindir = os.path.dirname(found[-1])
    root = tempfile.mkdtemp(prefix="miiii-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(root, "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", data, "-U", "miiii", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-w", "-t", "60",
                              "-o", f"-h 127.0.0.1 -p {port} -k {root}", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://miiii@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_postgres_two_workers_share_one_study(postgres, tmp_path):
    a = subprocess.Popen(_sweep(postgres, "two", tmp_path / "a", "--trials", "3", "--workers", "2", "--heartbeat", "3"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    b = subprocess.Popen(_sweep(postgres, "two", tmp_path / "b", "--trials", "3", "--workers", "1", "--heartbeat", "3"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    out_a, out_b = a.communicate(timeout=400)[0], b.communicate(timeout=400)[0]
    assert a.returncode == 0 and b.returncode == 0, out_a + out_b
    trials = _load(postgres, "two").get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 3 and not [t for t in trials if t.state.name in ("FAIL", "RUNNING", "WAITING")]
    told_a, told_b = _told(out_a), _told(out_b)
    assert told_a and told_b, "both workers should have trained trials"
    assert not set(told_a) & set(told_b) and sorted(told_a + told_b) == sorted(t.number for t in complete)
    assert len({(t.user_attrs["run_dir"], t.user_attrs["run_index"]) for t in complete}) == 3
    for t in complete:  # each run was trained once, where the trial says
        summary = json.loads((Path(t.user_attrs["run_dir"]) / "summary.json").read_text())
        cfg = summary["runs"][t.user_attrs["run_index"]]["config"]
        assert all(cfg[k] == v for k, v in t.params.items())


@pytest.mark.slow
def test_postgres_killed_worker_is_retried(postgres, tmp_path):
    a = subprocess.Popen(_sweep(postgres, "kill", tmp_path / "a", "--trials", "2", "--heartbeat", "1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    b = subprocess.Popen(_sweep(postgres, "kill", tmp_path / "b", "--trials", "2", "--heartbeat", "1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    victim: dict = {}

    def a_is_training() -> bool:  # a trial of A's is running and its run directory exists
        try:
            trials = _load(postgres, "kill").get_trials(deepcopy=False)
        except Exception:
            return False
        for t in trials:
            if t.state.name == "RUNNING" and t.user_attrs.get("worker", "").endswith(f":{a.pid}") \
                    and (Path(t.user_attrs["run_dir"]) / "config.json").exists():
                victim.update(number=t.number, params=t.params)
                return True
        return False

    try:
        _wait(a_is_training, 240, "worker A to train a trial", [a])
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=30)
        out_b = b.communicate(timeout=300)[0]
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
    assert a.returncode == -signal.SIGKILL
    assert b.returncode == 0, out_b
    trials = _load(postgres, "kill").get_trials()
    by = {t.number: t for t in trials}
    assert by[victim["number"]].state.name == "FAIL"  # by the heartbeat: nobody told it
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 2 and not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    retry = [t for t in complete if t.system_attrs.get("failed_trial") == victim["number"]]
    assert len(retry) == 1 and retry[0].params == victim["params"]
    assert retry[0].user_attrs["worker"].endswith(f":{b.pid}") and retry[0].number in _told(out_b)

"""The redemption benchmark's baseline (bench/baseline.py): the app as it was at an earlier commit,
exported with git and served from its own tree. Without git or the commit, the run goes on."""
import shutil
import subprocess

import pytest

from bench import baseline as baselines
from bench import common, redemption


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "marker.txt").write_text("before\n")
    _git("add", ".", cwd=repo)
    _git("-c", "user.name=b", "-c", "user.email=b@example.org", "commit", "-qm", "before", cwd=repo)
    first = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "marker.txt").write_text("after\n")
    _git("-c", "user.name=b", "-c", "user.email=b@example.org", "commit", "-qam", "after", cwd=repo)
    return repo, first


def test_the_commit_is_exported_as_it_was(repository):
    repo, first = repository
    before = baselines.export(first[:8], root=repo)
    try:
        assert before.commit == first
        assert (before.tree / "marker.txt").read_text() == "before\n"
        assert before.env("sqlite:///x.sqlite")["PYTHONPATH"] == str(before.tree)
    finally:
        before.remove()
    assert not before.tree.exists()


def test_a_commit_missing_from_the_history_is_skipped_not_failed(repository, monkeypatch):
    repo, _first = repository
    with pytest.raises(baselines.BaselineUnavailable, match="shallow clone"):
        baselines.export("0" * 40, root=repo)
    monkeypatch.setattr(baselines.shutil, "which", lambda name: None)
    with pytest.raises(baselines.BaselineUnavailable, match="git is not installed"):
        baselines.export("HEAD", root=repo)
    # The benchmark records why and goes on without it.
    monkeypatch.setenv("BENCH_BASELINE", "0" * 40)
    before, report = redemption.export_baseline()
    assert before is None and report["commit"] == "0" * 40 and "git is not installed" in report["skipped"]


def test_bench_baseline_chooses_or_skips(monkeypatch):
    monkeypatch.delenv("BENCH_BASELINE", raising=False)
    assert baselines.wanted_commit() == baselines.OFFLINE_DESK_PARENT
    monkeypatch.setenv("BENCH_BASELINE", "none")
    assert baselines.wanted_commit() is None
    assert redemption.export_baseline() == (None, {"skipped": "BENCH_BASELINE=none"})


def test_the_default_is_the_parent_of_the_offline_desks_first_commit():
    paths = ["static/desk/offline-desk.js", "vouchers/allowances.py", "migrations/versions/0160_offline_allowances.py"]
    found = subprocess.run(["git", "-C", str(common.ROOT), "log", "--format=%H", "--", *paths],
                           capture_output=True, text=True)
    if shutil.which("git") is None or found.returncode != 0 or not found.stdout.strip():
        pytest.skip("no git history here (a shallow clone or an export)")
    first = found.stdout.split()[-1]
    parent = subprocess.run(["git", "-C", str(common.ROOT), "rev-parse", f"{first}^"], capture_output=True, text=True)
    if parent.returncode != 0:
        pytest.skip("the history is cut before the offline desk")
    assert parent.stdout.strip() == baselines.OFFLINE_DESK_PARENT


def test_the_baseline_runs_its_own_packages_never_todays(tmp_path):
    # A tree without the packages: the child would import today's editable install. Refused.
    empty = baselines.Baseline("0" * 40, tmp_path / "empty")
    empty.tree.mkdir()
    with pytest.raises(baselines.BaselineUnavailable, match="imported today's code"):
        baselines.prepare(empty, [(f"sqlite:///{tmp_path / 'a.sqlite'}", 10)], 1)
    # A tree with its own (here empty) packages: they are the ones imported, and it is their
    # missing create_app that stops the set-up, not today's code running in their place.
    own = baselines.Baseline("0" * 40, tmp_path / "own")
    for package in baselines.PACKAGES:
        (own.tree / package).mkdir(parents=True)
        (own.tree / package / "__init__.py").write_text("")
    with pytest.raises(baselines.BaselineUnavailable, match="create_app"):
        baselines.prepare(own, [(f"sqlite:///{tmp_path / 'b.sqlite'}", 10)], 1)


def test_every_contender_goes_first_alike():
    order = redemption.slice_order(["app", "least_app", "baseline"], 6)
    assert [o[0] for o in order] == ["app", "least_app", "baseline"] * 2
    assert all(sorted(o) == ["app", "baseline", "least_app"] for o in order)
    assert redemption.slice_order(["app", "least_app"], 4) == [["app", "least_app"], ["least_app", "app"]] * 2


def _figures(per_second, errors=0):
    return {"per_second": per_second, "errors": errors}


def test_the_baseline_is_compared_with_the_app_it_was_loaded_beside():
    books = {"ledger_verified": True, "over_redeemed_vouchers": 0}
    out = {"baseline": {"commit": "b" * 40}}
    redemption._compared(out, {"app": _figures(300), "least_app": _figures(400), "baseline": _figures(250),
                               "app_beside_baseline": _figures(200)}, books)
    assert out["ratio_app_least"] == 0.75
    assert out["ratio_app_baseline"] == 0.8 and out["baseline"]["app_beside"]["per_second"] == 200
    # Measured, its books verified by its own code: its errors or books fail the run like the app's.
    out["baseline"]["books"] = books
    assert redemption._checks(out) == [("", False), (" baseline", False)]
    out["baseline"]["books"] = {"ledger_verified": False, "over_redeemed_vouchers": 0}
    assert redemption._checks(out) == [("", False), (" baseline", True)]
    # Skipped (no git, no commit, its set-up failed): nothing to check, the run goes on.
    out["baseline"] = {"commit": "b" * 40, "skipped": "commit not in this checkout's history"}
    assert redemption._checks(out) == [("", False)]

"""The labelling app's parts: study files, plans, storage, resume, scripted rater, loader, agreement.

Also the helpers the other ``test_labelling_*`` files import: a synthetic zoo's materials (no
attribution is computed: ``synthetic_zoo.synthetic_attribute``), a small study, and answers that
depend on the item so that two raters agree in a known way. None of these rows is a human
judgment: they live in ``tmp_path`` only.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import krippendorff
import numpy as np
import pandas as pd
import pytest
import synthetic_zoo as sz

from interpbench.agents.models import load_checkpoint
from interpbench.cli.main import main
from interpbench.data.frameset import FrameSet
from interpbench.labelling.agreement import study_agreement
from interpbench.labelling.plan import CatchItem, FeatureItem, Trial, rater_sequence, stable_seed
from interpbench.labelling.scripted import MADE_BY, run_scripted
from interpbench.labelling.session import StudySession
from interpbench.labelling.sources import Materials, zoo_materials
from interpbench.labelling.store import COLUMNS, HEADER, JudgmentLog, StudyFiles, read_study_judgments
from interpbench.labelling.study import FORMAT, StudyError, load_study, parse_study
from interpbench.validation.ceilings import spearman_brown
from interpbench.validation.feature_labels import split_half
from interpbench.validation.labels import LabelError, human_only, load_feature_judgments

REPO = Path(__file__).resolve().parents[1]
LEVELS, RUNS, N_FEATURES = (100, 1000), (1,), 2

STUDY: dict[str, Any] = {
    "format": FORMAT, "study": "unit", "protocol_version": 1, "description": "test study (synthetic zoo)",
    "seed": 7, "attribution": {"head": "value", "n_features": N_FEATURES}, "task_types": ["2afc", "rating"],
    "main_trials": 8, "demo_trials": 2, "catch_trials": 4,
    "two_afc": {"references": 4, "query_pool": 4, "confidence_levels": ["guessing", "fairly sure", "sure"]},
    "rating": {"examples": 4},
    "catch": {"classes": ["coin"], "rating_positive_min": 6, "rating_negative_max": 4},
    "exclusion": {"min_catch_accuracy": 0.8, "min_median_seconds": 0},
    "agreement": {"bootstrap": 50, "seed": 0},
}


# -- helpers (imported by the other labelling tests) ---------------------------------------------------


def study_dict(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(STUDY)
    data.update(changes)
    return data


def write_study(folder: Path, **changes: Any) -> Path:
    data = study_dict(**changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data['study']}.json"
    path.write_text(json.dumps(data))
    return path


def synthetic_frames(n: int = 32) -> FrameSet:
    """The synthetic zoo's frames with the coin removed from every third frame (a 2AFC catch
    trial needs frames without its class)."""
    frames = sz.make_frames(n)
    masks = np.array(frames.masks)
    coin = frames.class_index("coin")
    masks[::3, 0] |= masks[::3, coin]
    masks[::3, coin] = False
    return frames.with_masks(masks)


def synthetic_attribute(path: Path, frames: FrameSet):
    return sz.synthetic_attribution(load_checkpoint(path), frames, n_features=N_FEATURES)


def synthetic_materials(root: Path) -> Materials:
    if not (root / "zoo").exists():
        sz.make_zoo(root / "zoo", levels=LEVELS, runs=RUNS)
    return zoo_materials(root / "zoo", synthetic_frames(), synthetic_attribute)


def new_session(out: Path, materials: Materials, raters: list[str], made_by: str = "human",
                **changes: Any) -> StudySession:
    study = parse_study(study_dict(**changes))
    scripted = made_by != "human"
    return StudySession(study, materials, StudyFiles.of(study.name, out, scripted=scripted), raters, made_by=made_by)


def item_answer(session: StudySession, rater: str, offset: int = 0) -> tuple[Trial, dict[str, Any]]:
    """A valid answer to ``rater``'s current trial that depends on the item (so two raters
    agree): catch and demo trials answered right; features judged by a fixed rule, ``offset``
    shifting the rating a little."""
    current = session.current(rater)
    assert current is not None
    trial, _, stronger = current
    item = trial.item
    h = stable_seed("answer", repr(item))
    if trial.item.trial_type == "2afc":
        assert stronger is not None
        right = isinstance(item, CatchItem) or h % 3 != 0
        return trial, {"choice": stronger if right else ("b" if stronger == "a" else "a"), "confidence": 1 + h % 3}
    if isinstance(item, CatchItem):
        return trial, ({"rating": 8, "object": item.cls} if item.kind == "mask" else {"rating": 1, "object": "none"})
    return trial, {"rating": int(np.clip(h % 11 + offset, 0, 10)), "object": "agent"}


def client_for(app):
    """FastAPI's TestClient (Starlette warns, on import, that it will move to ``httpx2``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app)


def csv_rows(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def materials(tmp_path_factory) -> Materials:
    return synthetic_materials(tmp_path_factory.mktemp("labelling"))


# -- study files -------------------------------------------------------------------------------------


def test_the_shipped_example_study_loads():
    study = load_study("pilot")
    assert study.task_types == ("2afc", "rating") and study.main_trials == 14 * 8 * 2
    assert 0 < study.min_catch_accuracy <= 1 and study.catch_trials > 0


@pytest.mark.parametrize("drop", ["main_trials", "catch_trials", "exclusion", "task_types", "seed"])
def test_a_study_file_with_a_missing_field_is_refused(tmp_path, drop):
    data = study_dict()
    del data[drop]
    (tmp_path / "unit.json").write_text(json.dumps(data))
    with pytest.raises(StudyError, match=rf"unit.json: the top level: missing field\(s\) \['{drop}'\]"):
        load_study(tmp_path / "unit.json")


@pytest.mark.parametrize("change, message", [
    ({"exclusion": {"min_catch_accuracy": 0.8}}, r"exclusion: missing field\(s\) \['min_median_seconds'\]"),
    ({"main_trials": 0}, "main_trials: 0 is less than the minimum of 1"),
    ({"task_types": ["2afc", "stars"]}, "task_types/1: 'stars' is not one of"),
    ({"extra": 1}, "Additional properties are not allowed"),
    ({"study": "../evil"}, "study: '../evil' does not match"),
    ({"catch": {"classes": ["coin"], "rating_positive_min": 4, "rating_negative_max": 6}},
     "rating_negative_max .* must be below"),
])
def test_bad_study_fields_are_named(change, message):
    with pytest.raises(StudyError, match=message):
        parse_study(study_dict(**change), "s.json")


def test_the_study_name_must_be_the_file_name(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps(study_dict()))
    with pytest.raises(StudyError, match="the study field is 'unit' but the file is named 'other'"):
        load_study(path)


def test_more_main_trials_than_features_is_refused(tmp_path, materials):
    with pytest.raises(StudyError, match="main_trials is 9, but 2 checkpoint"):
        new_session(tmp_path, materials, ["a"], main_trials=9)


# -- planning ----------------------------------------------------------------------------------------


def test_the_plan_is_seeded_per_rater_with_demo_first_and_one_feature_set():
    study = parse_study(study_dict(main_trials=6))
    n_features = {"ck-a": 2, "ck-b": 2}
    a, b = rater_sequence(study, n_features, "a"), rater_sequence(study, n_features, "b")
    assert a == rater_sequence(study, n_features, "a")  # resumable: the same every time
    assert len(a) == 2 + 6 + 4 and [t.position for t in a] == list(range(12))
    assert [t.phase for t in a[:2]] == ["demo", "demo"] and all(t.phase == "main" for t in a[2:])
    assert a != b  # another rater, another order ...
    items = lambda seq: sorted(map(repr, (t.item for t in seq)))  # noqa: E731
    assert items(a) == items(b)  # ... of the same items
    assert sum(t.catch for t in a) == 4
    features = [t.item for t in a if isinstance(t.item, FeatureItem)]
    assert {f.checkpoint for f in features} == {"ck-a", "ck-b"}
    kinds = {(t.item.trial_type, t.item.kind) for t in a if isinstance(t.item, CatchItem) and t.catch}
    assert kinds == {("2afc", "mask"), ("rating", "mask"), ("rating", "noise")}


# -- storage -----------------------------------------------------------------------------------------


def _row(i: int, rater: str) -> dict[str, Any]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(checkpoint="c", feature=0, labeller=rater, scale="binary", judgment=1, made_by="human", study="s",
               protocol_version=1, trial=i, trial_type="2afc", demo=0, catch=0, seconds=1)
    return row


def _append_many(path: str, rater: str, n: int) -> None:
    log = JudgmentLog(path)
    for i in range(n):
        log.append(_row(i, rater))


def test_two_writers_at_once_interleave_whole_lines(tmp_path):
    path = tmp_path / "s.csv"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), rater, 60)) for rater in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    rows = JudgmentLog(path).read()
    assert path.read_text().count(HEADER) == 1
    assert len(rows) == 120
    for rater in ("a", "b"):
        assert [int(r["trial"]) for r in rows if r["labeller"] == rater] == list(range(60))


def test_a_torn_last_line_is_set_aside_not_loaded(tmp_path):
    path = tmp_path / "s.csv"
    log = JudgmentLog(path)
    log.append(_row(0, "a"))
    with open(path, "ab") as f:
        f.write(b"c,0,a,bin")  # a write cut short: never acknowledged
    assert len(log.read()) == 1
    log.append(_row(1, "a"))
    assert [r["trial"] for r in log.read()] == ["0", "1"]
    assert (tmp_path / "s.csv.torn").read_text() == "c,0,a,bin\n"


def test_a_file_with_another_header_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("checkpoint,feature\nx,1\n")
    with pytest.raises(Exception, match="header is"):
        JudgmentLog(path).append(_row(0, "a"))
    assert path.read_text() == "checkpoint,feature\nx,1\n"


# -- sessions: resume, provenance, the scripted rater --------------------------------------------------


def test_a_new_session_resumes_each_rater_at_the_same_trial(tmp_path, materials):
    first = new_session(tmp_path, materials, ["a", "b"])
    for _ in range(5):
        trial, body = item_answer(first, "a")
        first.submit("a", first.trial_view("a")["trial"], body)
    upcoming = first.current("a")
    assert upcoming is not None
    view_before = first.trial_view("a")
    again = new_session(tmp_path, materials, ["a", "b"])  # the server restarted
    assert again.position("a") == 5 and again.position("b") == 0
    resumed = again.current("a")
    assert resumed is not None and resumed[0] == upcoming[0] and resumed[2] == upcoming[2]
    view = again.trial_view("a")
    assert view["number"] == view_before["number"] == 6
    assert view["trial"] != view_before["trial"]  # tokens are new at each start ...
    before_png = first.image("a", view_before["images"]["reference" if view["type"] == "2afc" else "examples"])
    after_png = again.image("a", view["images"]["reference" if view["type"] == "2afc" else "examples"])
    assert before_png == after_png  # ... the pictures are the same


def test_a_changed_study_file_is_refused_once_judgments_exist(tmp_path, materials):
    new_session(tmp_path, materials, ["a"])
    with pytest.raises(StudyError, match="different study_sha256"):
        new_session(tmp_path, materials, ["a"], catch_trials=2)


def test_the_scripted_rater_writes_model_rows_to_a_separate_file(tmp_path, materials):
    session = new_session(tmp_path, materials, ["bot"], made_by=MADE_BY)
    assert run_scripted(session, "bot") == 14
    assert session.files.judgments == tmp_path / "scripted" / "unit.csv"
    assert not (tmp_path / "unit.csv").exists()
    rows = csv_rows(session.files.judgments)
    assert set(rows["made_by"]) == {MADE_BY}
    loaded = load_feature_judgments([session.files.judgments], {n: N_FEATURES for n in materials.attributions})
    assert len(loaded) == 8 and human_only(loaded).empty
    assert study_agreement(session.study, read_study_judgments(session.files.judgments)).raters[0].catch_accuracy == 1


# -- the strict loader reads study files -----------------------------------------------------------------


def test_the_study_file_loads_strictly_without_demo_and_catch_rows(tmp_path, materials):
    session = new_session(tmp_path, materials, ["a", "b"])
    for rater in ("a", "b"):
        while session.current(rater) is not None:
            _, body = item_answer(session, rater)
            session.submit(rater, session.trial_view(rater)["trial"], body)
    known = {n: N_FEATURES for n in materials.attributions}
    table = load_feature_judgments([session.files.judgments], known)
    assert len(table) == 2 * 8 and set(table["made_by"]) == {"human"}
    assert sorted(table["trial_type"].unique()) == ["2afc", "rating"]
    raw = csv_rows(session.files.judgments)
    assert len(raw) == 2 * 14 and raw["demo"].eq("1").sum() == 4 and raw["catch"].eq("1").sum() == 8
    text = session.files.judgments.read_text()
    (tmp_path / "bad.csv").write_text(text.replace(",0,2afc,1,0,", ",0,2afc,yes,0,", 1))
    with pytest.raises(LabelError, match="line 2: demo='yes'; expected 0 or 1"):
        load_feature_judgments([tmp_path / "bad.csv"], known)


def test_killing_the_server_loses_no_acknowledged_judgment(tmp_path, materials):
    """A real server process: three answers acknowledged, then SIGKILL; a restarted study has all
    three and resumes at the fourth trial."""
    saved = tmp_path / "materials"  # the child loads arrays: no torch, no zoo
    materials.frames.save(saved / "frames.npz")
    for name, attr in materials.attributions.items():
        attr.save(saved / f"{name}.npz")
    study_path = write_study(tmp_path / "studies")
    child = tmp_path / "serve.py"
    child.write_text(f"""
import socket
from pathlib import Path
import uvicorn
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.labelling.app import create_app
from interpbench.labelling.session import StudySession
from interpbench.labelling.sources import Materials
from interpbench.labelling.store import StudyFiles
from interpbench.labelling.study import load_study
saved = Path({str(saved)!r})
materials = Materials(FrameSet.load(saved / "frames.npz"),
                      {{p.stem: AttributionSet.load(p) for p in sorted(saved.glob("*.npz")) if p.stem != "frames"}})
study = load_study({str(study_path)!r})
session = StudySession(study, materials, StudyFiles.of(study.name, {str(tmp_path / 'out')!r}), ['a'])
app = create_app(session)
sock = socket.socket(); sock.bind(('127.0.0.1', 0))
print(f"http://127.0.0.1:{{sock.getsockname()[1]}}/s/{{next(iter(app.state.links))}}/", flush=True)
uvicorn.Server(uvicorn.Config(app, log_level='warning')).run(sockets=[sock])
""")
    proc = subprocess.Popen([sys.executable, str(child)], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:"), url
        deadline = time.monotonic() + 30
        while True:
            try:
                view = httpx.get(url + "api/trial", timeout=5).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the child server did not come up"
                time.sleep(0.1)
        for _ in range(3):
            view = httpx.get(url + "api/trial", timeout=5).json()
            body = ({"choice": "a", "confidence": 2} if view["type"] == "2afc" else {"rating": 3, "object": "none"})
            assert httpx.post(url + f"api/trial/{view['trial']}", json=body, timeout=5).json()["ok"] is True
        httpx.get(url + "api/trial", timeout=5)  # a fourth trial shown, never answered
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    rows = csv_rows(tmp_path / "out" / "unit.csv")
    assert rows["trial"].tolist() == ["0", "1", "2"]
    resumed = StudySession(load_study(study_path), materials, StudyFiles.of("unit", tmp_path / "out"), ["a"])
    assert resumed.position("a") == 3 and resumed.trial_view("a")["number"] == 4


# -- agreement ---------------------------------------------------------------------------------------


def _judgments(table: dict[str, list[float]], trial_type: str = "rating", catch: dict[str, list[int]] | None = None,
               seconds: float = 3.0) -> pd.DataFrame:
    rows = []
    for rater, values in table.items():
        for f, v in enumerate(values):
            if np.isfinite(v):
                rows.append({"labeller": rater, "checkpoint": "c", "feature": f, "judgment": int(v), "demo": False,
                             "catch": False, "catch_expect": "", "trial_type": trial_type, "seconds": seconds,
                             "study": "unit"})
        for k, v in enumerate((catch or {}).get(rater, [])):
            rows.append({"labeller": rater, "checkpoint": "catch:mask-coin", "feature": k, "judgment": v,
                         "demo": False, "catch": True, "catch_expect": "positive", "trial_type": "rating",
                         "seconds": seconds, "study": "unit"})
    return pd.DataFrame(rows)


def test_alpha_matches_krippendorff_and_the_ceiling_follows_spearman_brown():
    table = {"r1": [1, 4, 6, 8, 9, 2], "r2": [2, 4, 5, 9, 9, 1], "r3": [1, 5, 7, 7, 10, np.nan]}
    study = parse_study(study_dict(task_types=["rating"], catch_trials=0))
    result = study_agreement(study, _judgments(table))
    rating = result.types[0]
    expected = krippendorff.alpha(reliability_data=np.array(list(table.values()), dtype=float),
                                  level_of_measurement="interval")
    assert rating.alpha == pytest.approx(expected)
    assert rating.alpha_low <= rating.alpha <= rating.alpha_high
    assert rating.spearman_brown == pytest.approx(spearman_brown(rating.split_half))
    assert rating.noise_ceiling == pytest.approx(np.sqrt(rating.spearman_brown))
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    two = np.array([table["r1"], table["r2"]], dtype=float)
    from scipy.stats import spearmanr
    assert split_half(two, np.random.default_rng(0)) == pytest.approx(spearmanr(two[0], two[1]).statistic)


def test_exclusions_come_from_the_study_file_and_keep_the_data():
    table = {"good": [1, 4, 6, 8], "fine": [2, 4, 5, 9], "careless": [9, 0, 9, 0]}
    catch = {"good": [8, 9, 7, 9, 8], "fine": [9, 9, 8, 7, 2], "careless": [1, 2, 9, 1, 0]}
    study = parse_study(study_dict(task_types=["rating"]))
    judgments = _judgments(table, catch=catch)
    result = study_agreement(study, judgments)
    by = {r.rater: r for r in result.raters}
    assert by["fine"].catch_accuracy == pytest.approx(0.8) and not by["fine"].excluded
    assert by["careless"].excluded and "catch accuracy 0.20 < 0.8" in by["careless"].reasons[0]
    assert result.types[0].raters == 2
    included = study_agreement(study, judgments[judgments["labeller"] != "careless"]).types[0]
    assert result.types[0].alpha == pytest.approx(included.alpha)
    slow = parse_study(study_dict(task_types=["rating"], exclusion={"min_catch_accuracy": 0.8,
                                                                    "min_median_seconds": 5}))
    assert all(r.excluded for r in study_agreement(slow, judgments).raters)


def test_the_agreement_command_reports_a_study(tmp_path, materials, capsys):
    session = new_session(tmp_path / "out", materials, ["a", "b"])
    for rater, offset in (("a", 0), ("b", 1)):
        while session.current(rater) is not None:
            _, body = item_answer(session, rater, offset)
            session.submit(rater, session.trial_view(rater)["trial"], body)
    study_path = write_study(tmp_path / "studies")
    code = main(["agreement", "--study", str(study_path), "--labels-dir", str(tmp_path / "out"),
                 "--json", str(tmp_path / "agreement.json")])
    out = capsys.readouterr().out
    assert code == 0 and "rating" in out and "included" in out
    stats = json.loads((tmp_path / "agreement.json").read_text())
    alphas = {t["trial_type"]: t["alpha"] for t in stats["types"]}
    assert all(np.isfinite(a) for a in alphas.values()), alphas
    assert [r["catch_accuracy"] for r in stats["raters"]] == [1.0, 1.0]
    assert main(["agreement", "--study", str(study_path), "--labels-dir", str(tmp_path / "none")]) == 2


def test_label_demo_runs_the_scripted_rater_through_the_real_attribution(tmp_path, monkeypatch, capsys):
    """``interpbench label --demo`` end to end on a synthetic zoo, with the cached integrated
    gradients (not the synthetic maps): the scripted file is written, nothing human."""
    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    sz.make_zoo(tmp_path / "zoo", levels=(100,), runs=(1,))
    frames_path = synthetic_frames().save(tmp_path / "frames.npz")
    study_path = write_study(tmp_path / "studies", main_trials=4)
    code = main(["label", "--demo", "--zoo", str(tmp_path / "zoo"), "--frames", str(frames_path),
                 "--study", str(study_path), "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0, capsys.readouterr()
    rows = csv_rows(tmp_path / "out" / "scripted" / "unit.csv")
    assert len(rows) == 2 + 4 + 4 and set(rows["made_by"]) == {MADE_BY}
    assert not (tmp_path / "out" / "unit.csv").exists()


# -- concurrency and the leaderboard -----------------------------------------------------------------


def test_two_servers_and_two_raters_at_once_share_one_file(tmp_path, materials):
    """Two sessions (two servers) on one study file, two raters answering at the same time over
    HTTP, and the same rater open on both servers: whole rows, nothing twice, nothing lost."""
    import threading

    from interpbench.labelling.app import create_app, serving

    one, two = (new_session(tmp_path, materials, ["a", "b", "c"]) for _ in range(2))
    apps = [create_app(s) for s in (one, two)]
    links = [{rater: token for token, rater in app.state.links.items()} for app in apps]
    errors: list[BaseException] = []
    with serving(apps[0]) as base_one, serving(apps[1]) as base_two:
        def rate(base: str, session: StudySession, rater: str, link: str) -> None:
            try:
                with httpx.Client(base_url=base, timeout=10) as client:
                    while not (view := client.get(f"/s/{link}/api/trial").json())["done"]:
                        _, body = item_answer(session, rater)
                        assert client.post(f"/s/{link}/api/trial/{view['trial']}", json=body).status_code == 200
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=rate, args=(base_one, one, "a", links[0]["a"])),
                   threading.Thread(target=rate, args=(base_two, two, "b", links[1]["b"]))]
        for t in threads:
            t.start()
        # rater c is open on both servers: the second server's trial is stale once the first took it
        with httpx.Client(timeout=10) as client:
            first = client.get(f"{base_one}/s/{links[0]['c']}/api/trial").json()
            second = client.get(f"{base_two}/s/{links[1]['c']}/api/trial").json()
            _, body = item_answer(one, "c")
            assert client.post(f"{base_one}/s/{links[0]['c']}/api/trial/{first['trial']}", json=body).status_code == 200
            stale = client.post(f"{base_two}/s/{links[1]['c']}/api/trial/{second['trial']}", json=body)
            assert stale.status_code == 409 and "another window or server" in stale.json()["error"]
            assert client.get(f"{base_two}/s/{links[1]['c']}/api/trial").json()["number"] == 2
        for t in threads:
            t.join(60)
    assert not errors, errors
    rows = csv_rows(one.files.judgments)
    assert len(rows) == 14 + 14 + 1
    for rater, n in (("a", 14), ("b", 14), ("c", 1)):
        assert rows.loc[rows["labeller"] == rater, "trial"].astype(int).tolist() == list(range(n))


def test_a_study_file_fills_the_leaderboards_feature_level_column(tmp_path, materials, monkeypatch):
    """Study rows (test fixtures, not data) reach ``validate``'s feature-level AUROC through the
    strict loader, human rows only."""
    from interpbench.scoring.score import score_zoo
    from interpbench.scoring.table import ScoringConfig
    from interpbench.validation.labels import load_aggregate
    from interpbench.validation.validate import validate

    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    sz.load_metrics()
    scored = (*LEVELS, 10000)  # validation needs three checkpoints; the study judged two of them
    zoo = sz.make_zoo(tmp_path / "zoo", levels=scored, runs=RUNS)
    session = new_session(tmp_path / "out", materials, ["a", "b"])
    for rater in ("a", "b"):
        while session.current(rater) is not None:
            _, body = item_answer(session, rater)
            session.submit(rater, session.trial_view(rater)["trial"], body)
    bot = new_session(tmp_path / "out", materials, ["bot"], made_by=MADE_BY)
    run_scripted(bot, "bot")
    table = score_zoo(zoo, synthetic_frames(), ["synthetic-overlap"], config=ScoringConfig(n_bootstrap=2),
                      attribute=sz.synthetic_attribute, progress=False, n_jobs=1)
    from interpbench.labelling.store import read_study_judgments
    from interpbench.validation.feature_labels import StudyJudgments

    study = session.study
    rows = pd.concat([read_study_judgments(session.files.judgments), read_study_judgments(bot.files.judgments)])
    studies = [StudyJudgments(study.name, study.criteria, study.task_types, study.agreement_seed, rows)]
    labels = load_aggregate(sz.write_labels(tmp_path / "labels", levels=scored, runs=RUNS))
    v = validate(table, labels, studies=studies)
    board = v.leaderboard.set_index("name")
    # The study judged two checkpoints: its rows reach the feature-level table, and say why a
    # checkpoint-clustered figure is not estimable from two, instead of a number.
    assert set(v.feature_level["metric"]) == {"synthetic-overlap"}
    assert (v.feature_level["n_raters"] == 2).all()  # the scripted rater's rows are not counted
    assert v.feature_level["reason"].str.contains("checkpoint").all()
    assert np.isnan(board.loc["synthetic-overlap", "auroc"])

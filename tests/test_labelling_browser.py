"""A full short study in a real Chromium (Playwright), then a second rater over HTTP and agreement.

The browser rater goes through practice trials (with their feedback), 2AFC and rating trials and
the catch trials mixed among them, reloads the page mid-study (the same trial comes back, with
the same pictures), names one object in free text, and finishes. The judgment file must then hold
exactly what was clicked, and ``interpbench agreement`` must compute alpha on the two raters.

Skips where /usr/bin/chromium is absent (Playwright's own browser download does not work on the
project's machines; ``make browser`` installs Debian's). With ``INTERPBENCH_SCREENSHOTS=<folder>``
set, :func:`test_screenshots_of_each_trial_type` also writes ``labelling-2afc.png`` and
``labelling-rating.png`` there from the shipped zoo and the default frames (``docs/labelling.md``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from test_labelling import (  # noqa: F401  (materials is a fixture)
    csv_rows,
    item_answer,
    materials,
    new_session,
    study_dict,
    write_study,
)

from interpbench.cli.main import main
from interpbench.labelling.agreement import study_agreement
from interpbench.labelling.app import create_app, serving
from interpbench.labelling.plan import CatchItem
from interpbench.labelling.store import read_study_judgments
from interpbench.labelling.study import parse_study

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: install Debian's chromium "
                                "(`make browser`, as root); Playwright's own browser download is not used")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture
def browser_page(tmp_path):
    """One page of a fresh Chromium profile."""
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                       args=ARGS, headless=True, viewport={"width": 900, "height": 1000})
        context.set_default_timeout(15_000)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()


def wait_for_screen(page) -> str:
    """Which section is shown once the page has settled: trial, feedback or done."""
    page.wait_for_selector("#trial:not([hidden]), #feedback:not([hidden]), #done:not([hidden])")
    for section in ("trial", "feedback", "done"):
        if page.is_visible(f"#{section}"):
            return section
    raise AssertionError("no section shown")


def answer_in_browser(page, body: dict) -> None:
    """Click ``body``'s answer on the trial shown."""
    if "choice" in body:
        page.click(f"#choice-{body['choice']}")
        page.check(f"#confidence-{body['confidence'] - 1}")
    else:
        page.check(f"#rating-{body['rating']}")
        page.select_option("#object", body["object"])
        if body["object"] == "other":
            page.fill("#object-text", body["object_text"])
    assert page.is_enabled("#submit")
    token = page.get_attribute("#trial", "data-trial")
    page.click("#submit")
    page.wait_for_function("t => { const s = document.getElementById('trial'); return s.hidden || s.dataset.trial !== t; }",
                           arg=token)


def test_a_full_study_in_chromium_then_a_second_rater_and_agreement(tmp_path, materials, browser_page):  # noqa: F811
    started = time.monotonic()
    page = browser_page
    session = new_session(tmp_path / "out", materials, ["alice", "bob"])
    app = create_app(session)
    links = {rater: token for token, rater in app.state.links.items()}
    submitted: list[dict] = []
    seen_types, reloaded = set(), False
    with serving(app) as base:
        page.goto(f"{base}/s/{links['alice']}/")
        while (screen := wait_for_screen(page)) != "done":
            if screen == "feedback":
                assert page.text_content("#feedback-text")
                page.click("#continue")
                page.wait_for_selector("#feedback", state="hidden")
                continue
            trial_token = page.get_attribute("#trial", "data-trial")
            trial, body = item_answer(session, "alice")
            assert page.text_content("#progress") == f"Trial {trial.position + 1} of 14"
            assert page.get_attribute("#trial", "data-type") == trial.item.trial_type
            assert (page.get_attribute("#trial", "data-practice") == "1") == (trial.phase == "demo")
            assert page.is_visible("#practice") == (trial.phase == "demo")
            assert page.is_visible("#task-2afc") == (trial.item.trial_type == "2afc") != page.is_visible("#task-rating")
            seen_types.add((trial.phase, trial.catch, trial.item.trial_type))
            if trial.position == 5 and not reloaded:  # close the tab mid-study, come back
                picture = page.get_attribute("#ref-img" if trial.item.trial_type == "2afc" else "#examples-img", "src")
                page.reload()
                assert wait_for_screen(page) == "trial"
                assert page.get_attribute("#trial", "data-trial") == trial_token
                assert page.text_content("#progress") == "Trial 6 of 14"
                assert page.get_attribute("#ref-img" if trial.item.trial_type == "2afc" else "#examples-img",
                                          "src") == picture
                reloaded = True
            if trial.item.trial_type == "rating" and trial.phase == "main" and not isinstance(trial.item, CatchItem) \
                    and not any(s.get("object") == "other" for s in submitted):
                body = {**body, "object": "other", "object_text": "=1+1 gold"}
            answer_in_browser(page, body)
            submitted.append({"trial": trial.position, **body})
        assert "All trials are done" in page.text_content("#done")

        # a second rater at the same time, over the HTTP API
        with httpx.Client(base_url=base, timeout=10) as client:
            while not (view := client.get(f"/s/{links['bob']}/api/trial").json())["done"]:
                _, body = item_answer(session, "bob", offset=1)
                assert client.post(f"/s/{links['bob']}/api/trial/{view['trial']}", json=body).json()["ok"]

    assert reloaded
    assert {("demo", False, "2afc"), ("demo", False, "rating"), ("main", False, "2afc"), ("main", False, "rating"),
            ("main", True, "2afc"), ("main", True, "rating")} <= seen_types

    # the file holds exactly what was clicked, in order
    rows = csv_rows(session.files.judgments)
    mine = rows[rows["labeller"] == "alice"].reset_index(drop=True)
    assert len(mine) == len(submitted) == 14 and set(mine["made_by"]) == {"human"}
    sequence = session.sequence("alice")
    for row, sent in zip(mine.to_dict("records"), submitted):
        trial = sequence[sent["trial"]]
        assert int(row["trial"]) == sent["trial"] and row["trial_type"] == trial.item.trial_type
        assert row["demo"] == str(int(trial.phase == "demo")) and row["catch"] == str(int(trial.catch))
        if "choice" in sent:
            assert row["answer"] == sent["choice"]
            assert float(row["confidence"]) == pytest.approx((sent["confidence"] - 1) / 2)
        else:
            assert int(row["judgment"]) == sent["rating"]
            expected = {"other": "'=1+1 gold", "none": ""}.get(sent["object"], sent["object"])
            assert row["object"] == expected
        assert float(row["seconds"]) >= 0
    assert (mine["object"] == "'=1+1 gold").sum() == 1  # formula escaped on the way in

    # agreement on the two raters, from the file, by the command and the library
    study_path = write_study(tmp_path / "studies")
    assert main(["agreement", "--study", str(study_path), "--labels-dir", str(tmp_path / "out")]) == 0
    result = study_agreement(parse_study(study_dict()), read_study_judgments(session.files.judgments))
    assert [r.rater for r in result.raters if not r.excluded] == ["alice", "bob"]
    assert all(r.catch_accuracy == 1 for r in result.raters)
    for t in result.types:
        assert t.raters == 2 and t.features == 4 and np.isfinite(t.alpha), t
    assert time.monotonic() - started < 60


@pytest.mark.skipif(not os.environ.get("INTERPBENCH_SCREENSHOTS"),
                    reason="set INTERPBENCH_SCREENSHOTS=<folder> to write the screenshots of docs/labelling.md")
def test_screenshots_of_each_trial_type(tmp_path, browser_page):
    """Screenshots of a 2AFC and a rating trial on real pictures: two checkpoints of the shipped zoo,
    the default evaluation frames (both from the cache when present)."""
    from interpbench import api
    from interpbench.attribution.attribute import attribute_checkpoint
    from interpbench.data.zoo import default_zoo
    from interpbench.labelling.session import StudySession
    from interpbench.labelling.sources import zoo_materials
    from interpbench.labelling.store import StudyFiles

    folder = Path(os.environ["INTERPBENCH_SCREENSHOTS"])
    study = parse_study(study_dict(study="screenshots", main_trials=8, demo_trials=0, catch_trials=0,
                                   attribution={"head": "value", "n_features": 8},
                                   two_afc={"references": 8, "query_pool": 20,
                                            "confidence_levels": ["guessing", "fairly sure", "sure"]},
                                   rating={"examples": 8}, catch={"classes": ["coin"], "rating_positive_min": 6,
                                                                  "rating_negative_max": 4}))
    real = zoo_materials(default_zoo(), api.frames(progress=False),
                         lambda path, frames: attribute_checkpoint(path, frames), names=["distill-L100-r1",
                                                                                          "distill-L100000-r1"])
    session = StudySession(study, real, StudyFiles.of(study.name, tmp_path), ["rater-1"])
    app = create_app(session)
    page = browser_page
    shots: dict[str, Path] = {}
    with serving(app) as base:
        page.goto(f"{base}/s/{next(iter(app.state.links))}/")
        while len(shots) < 2 and wait_for_screen(page) == "trial":
            trial_type = page.get_attribute("#trial", "data-type")
            assert trial_type is not None
            _, body = item_answer(session, "rater-1")
            if trial_type not in shots:
                page.wait_for_function("Array.from(document.images).every(i => !i.offsetParent || i.complete)")
                if trial_type == "2afc":
                    page.click(f"#choice-{body['choice']}")
                    page.check("#confidence-1")
                else:
                    page.check("#rating-6")
                    page.select_option("#object", "coin")
                with tempfile.TemporaryDirectory() as scratch:
                    target = Path(scratch) / "shot.png"
                    page.screenshot(path=str(target), full_page=True)
                    folder.mkdir(parents=True, exist_ok=True)
                    shots[trial_type] = folder / f"labelling-{trial_type}.png"
                    shutil.copyfile(target, shots[trial_type])
                page.reload()
                wait_for_screen(page)
            answer_in_browser(page, body)
    assert set(shots) == {"2afc", "rating"} and all(p.stat().st_size > 10_000 for p in shots.values())

"""Bad input to the labelling app is refused with a clear message, and the judgment file stays valid.

Forged, replayed and other raters' trial ids; answers out of range or of the wrong shape; bodies
that are not JSON; rater ids with HTML or path characters; free text that a spreadsheet would run
as a formula; paths in URLs; a foreign Host header; a study file with a missing field. After every
refusal the CSV is byte-for-byte what it was, and it loads strictly.
"""

from __future__ import annotations

import json

import pytest
from test_labelling import (  # noqa: F401  (materials is a fixture)
    N_FEATURES,
    client_for,
    csv_rows,
    item_answer,
    materials,
    new_session,
    study_dict,
    write_study,
)

from interpbench.cli.main import main
from interpbench.labelling.app import create_app
from interpbench.labelling.inputs import InputError, check_rater_id, csv_safe
from interpbench.labelling.store import read_study_judgments
from interpbench.labelling.study import StudyError, parse_study
from interpbench.validation.labels import load_feature_judgments


@pytest.fixture
def study_app(tmp_path, materials):  # noqa: F811
    session = new_session(tmp_path, materials, ["alice", "bob"])
    app = create_app(session)
    links = {rater: token for token, rater in app.state.links.items()}
    return session, client_for(app), links


def _advance_to(session, client, links, rater, trial_type):
    """Answer ``rater``'s trials until the current one is of ``trial_type``; returns its view."""
    while True:
        view = client.get(f"/s/{links[rater]}/api/trial").json()
        if view["type"] == trial_type and not view["practice"]:
            return view
        _, body = item_answer(session, rater)
        assert client.post(f"/s/{links[rater]}/api/trial/{view['trial']}", json=body).status_code == 200


def _refused(client, url, status, fragment, **kwargs):
    response = client.post(url, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert fragment in error, error
    return error


def _loads(session, materials):  # noqa: F811
    load_feature_judgments([session.files.judgments], {n: N_FEATURES for n in materials.attributions})
    return read_study_judgments(session.files.judgments)


@pytest.mark.parametrize("trial_type, body, fragment", [
    ("2afc", {"choice": "c", "confidence": 2}, "choice must be 'a' or 'b'"),
    ("2afc", {"choice": "a", "confidence": 0}, "confidence=0 is out of range: it must be from 1 to 3"),
    ("2afc", {"choice": "a", "confidence": 4}, "confidence=4 is out of range"),
    ("2afc", {"choice": "a", "confidence": 2.5}, "confidence must be a whole number"),
    ("2afc", {"choice": "a", "confidence": True}, "confidence must be a whole number"),
    ("2afc", {"choice": "a", "confidence": "2"}, "confidence must be a whole number"),
    ("2afc", {"choice": "a"}, "missing ['confidence']"),
    ("2afc", {"choice": "a", "confidence": 2, "judgment": 1}, "unknown ['judgment']"),
    ("2afc", {"rating": 5, "object": "coin"}, "a 2AFC answer has exactly the fields"),
    ("2afc", [1, 2], "a 2AFC answer is a JSON object"),
    ("rating", {"rating": 11, "object": "coin"}, "rating=11 is out of range: it must be from 0 to 10"),
    ("rating", {"rating": -1, "object": "coin"}, "rating=-1 is out of range"),
    ("rating", {"rating": 10 ** 30, "object": "coin"}, "out of range"),
    ("rating", {"rating": 5, "object": "dragon"}, "object must be one of"),
    ("rating", {"rating": 5, "object": "other"}, "name the object"),
    ("rating", {"rating": 5, "object": "other", "object_text": "coin\nx,1,2"}, "control or invisible characters"),
    ("rating", {"rating": 5, "object": "other", "object_text": "a\u202eb"}, "control or invisible characters"),
    ("rating", {"rating": 5, "object": "other", "object_text": "x" * 61}, "at most 60 are allowed"),
    ("rating", {"rating": 5, "object": "other", "object_text": 7}, "must be text"),
    ("rating", {"rating": 5, "object": "coin", "object_text": "gold"}, "object_text is only for object 'other'"),
])
def test_bad_answers_are_refused_and_the_file_is_untouched(study_app, materials, trial_type, body,  # noqa: F811
                                                           fragment):
    session, client, links = study_app
    view = _advance_to(session, client, links, "alice", trial_type)
    before = session.files.judgments.read_bytes()
    _refused(client, f"/s/{links['alice']}/api/trial/{view['trial']}", 422, fragment, json=body)
    assert session.files.judgments.read_bytes() == before
    assert client.get(f"/s/{links['alice']}/api/trial").json()["trial"] == view["trial"]  # still the same trial
    _loads(session, materials)


def test_forged_replayed_and_foreign_trial_ids_are_refused(study_app, materials):  # noqa: F811
    session, client, links = study_app
    alice, bob = links["alice"], links["bob"]
    view = client.get(f"/s/{alice}/api/trial").json()
    _, body = item_answer(session, "alice")
    before = session.files.judgments.read_bytes() if session.files.judgments.exists() else b""
    _refused(client, f"/s/{bob}/api/trial/{view['trial']}", 403, "belongs to another rater", json=body)
    _refused(client, f"/s/{alice}/api/trial/{'x' * 24}", 404, "unknown trial id", json=body)
    _refused(client, f"/s/{alice}/api/trial/short", 404, "unknown trial id", json=body)
    _refused(client, f"/s/{'y' * 24}/api/trial/{view['trial']}", 404, "unknown study link", json=body)
    _refused(client, f"/s/{alice}/api/trial/{view['trial']}", 415, "Content-Type: application/json",
             content=b"choice=a", headers={"content-type": "application/x-www-form-urlencoded"})
    _refused(client, f"/s/{alice}/api/trial/{view['trial']}", 400, "not valid JSON",
             content=b"{", headers={"content-type": "application/json"})
    _refused(client, f"/s/{alice}/api/trial/{view['trial']}", 400, "not valid JSON",
             content=b'{"choice": "a", "confidence": NaN}', headers={"content-type": "application/json"})
    _refused(client, f"/s/{alice}/api/trial/{view['trial']}", 413, "larger than",
             content=b'{"x": "' + b"a" * 5000 + b'"}', headers={"content-type": "application/json"})
    assert (session.files.judgments.read_bytes() if session.files.judgments.exists() else b"") == before
    assert client.post(f"/s/{alice}/api/trial/{view['trial']}", json=body).json()["ok"] is True
    _refused(client, f"/s/{alice}/api/trial/{view['trial']}", 409, "already submitted", json=body)
    _refused(client, f"/s/{bob}/api/trial/{view['trial']}", 403, "belongs to another rater", json=body)
    assert client.get(f"/s/{bob}/img/{view['images']['reference']}").status_code == 404  # not bob's picture
    rows = _loads(session, materials)
    assert len(rows) == 1 and rows["labeller"].tolist() == ["alice"]


@pytest.mark.parametrize("text, stored", [
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
    ("+1+1", "'+1+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),  # HTML is text here; never served back
    ("  gold coin  ", "gold coin"),
])
def test_free_text_is_stored_so_no_spreadsheet_runs_it(study_app, materials, text, stored):  # noqa: F811
    session, client, links = study_app
    view = _advance_to(session, client, links, "alice", "rating")
    response = client.post(f"/s/{links['alice']}/api/trial/{view['trial']}",
                           json={"rating": 4, "object": "other", "object_text": text})
    assert response.status_code == 200
    assert csv_rows(session.files.judgments)["object"].iloc[-1] == stored
    shown = client.get(f"/s/{links['alice']}/api/trial").json()
    shown = {k: v for k, v in shown.items() if k not in ("trial", "images")}  # random ids may spell "-2"
    assert text.strip() not in json.dumps(shown)  # the text is never served back
    _loads(session, materials)


@pytest.mark.parametrize("rater", ["<script>alert(1)</script>", "a/b", "../etc", "a b", "", "x" * 33, "a;rm", "=cmd",
                                   "é", "-x", "a\nb", "a\\b", "%2e%2e"])
def test_rater_ids_with_html_or_path_characters_are_refused(tmp_path, materials, rater, capsys):  # noqa: F811
    with pytest.raises(InputError, match="rater id .* is refused: use 1-32 letters"):
        check_rater_id(rater)
    with pytest.raises(InputError):
        new_session(tmp_path, materials, [rater])
    study = write_study(tmp_path / "studies")
    assert main(["label", f"--rater={rater}", "--study", str(study), "--out", str(tmp_path / "out")]) == 2
    assert "is refused" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_good_rater_ids_pass():
    for rater in ("alice", "r2", "A-1_b", "x" * 32):
        assert check_rater_id(rater) == rater
    assert csv_safe("coin") == "coin"


@pytest.mark.parametrize("path", ["/s/{link}/img/..%2F..%2Fetc%2Fpasswd", "/s/{link}/img/../../../etc/passwd",
                                  "/static/..%2Fpage.py", "/static/../../pyproject.toml", "/s/{link}/img/%00",
                                  "/s/{link}/../../etc/passwd"])
def test_no_request_path_reaches_the_file_system(study_app, path):
    _, client, links = study_app
    response = client.get(path.format(link=links["alice"]))
    assert response.status_code == 404 and "error" in response.json()
    assert b"root:" not in response.content and b"[project]" not in response.content


def test_a_foreign_host_header_is_refused(tmp_path, materials):  # noqa: F811
    app = create_app(new_session(tmp_path, materials, ["alice"]), allowed_hosts=["127.0.0.1", "localhost"])
    client = client_for(app)
    refused = client.get("/", headers={"host": "evil.example"})
    assert refused.status_code == 400 and "answers only to" in refused.json()["error"]
    assert client.get("/", headers={"host": "127.0.0.1:8000"}).status_code == 200


def test_a_study_file_with_a_missing_field_is_refused_before_anything_runs(tmp_path, capsys):
    data = study_dict()
    del data["two_afc"]["confidence_levels"]
    with pytest.raises(StudyError, match=r"two_afc: missing field\(s\) \['confidence_levels'\]"):
        parse_study(data, "unit.json")
    path = write_study(tmp_path / "studies", two_afc=data["two_afc"])
    assert main(["label", "--rater", "alice", "--study", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "missing field(s) ['confidence_levels']" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["agreement", "--study", str(path)]) == 2

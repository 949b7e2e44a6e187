"""Blinding: nothing the app serves for a study names or hints at a checkpoint.

Crawls everything a rater's browser can reach (the page, the assets it links, every trial's view,
every image, every submission's answer, refusals too) for two raters with FastAPI's TestClient,
and searches the bytes, URLs and headers for checkpoint names, level counts, runs, hashes, paths
and training figures. Also: catch trials look exactly like main trials to the client, images
carry no text chunks, and no token is shared between raters.
"""

from __future__ import annotations

import re
import struct

import pytest
from test_labelling import LEVELS, RUNS, client_for, item_answer, materials, new_session  # noqa: F401  (fixture)

from interpbench.labelling.app import create_app
from interpbench.labelling.session import TOKEN

FORGED = "A" * 24
VIEW_KEYS = {
    "2afc": {"done", "trial", "type", "practice", "number", "total", "images", "confidence_levels"},
    "rating": {"done", "trial", "type", "practice", "number", "total", "images", "scale_max", "objects"},
}


def png_chunks(data: bytes) -> list[str]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at: at + 4]), data[at + 4: at + 8].decode("ascii")
        chunks.append(kind)
        at += 12 + length
    return chunks


def crawl(client, session, link: str, rater: str):
    """(url, status, headers, body) of every response, plus (trial, view) per trial."""
    seen, views = [], []

    def keep(method: str, url: str, **kwargs):
        response = client.request(method, url, **kwargs)
        seen.append((url, response.status_code, dict(response.headers), response.content))
        return response

    page = keep("GET", f"/s/{link}/")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == ["/static/app.css", "/static/app.js"]
    for asset in assets:
        keep("GET", asset)
    keep("GET", "/")
    keep("GET", f"/s/{link}/api/trial/")
    while True:
        view = keep("GET", f"/s/{link}/api/trial").json()
        if view["done"]:
            break
        for token in view["images"].values():
            keep("GET", f"/s/{link}/img/{token}")
        trial, body = item_answer(session, rater)
        views.append((trial, view))
        assert keep("POST", f"/s/{link}/api/trial/{view['trial']}", json=body).status_code == 200
        assert keep("POST", f"/s/{link}/api/trial/{view['trial']}", json=body).status_code == 409  # a replay
    keep("POST", f"/s/{link}/api/trial/{FORGED}", json={})  # a forged id
    return seen, views


def test_nothing_served_names_a_checkpoint_level_count_or_run(tmp_path, materials):  # noqa: F811
    session = new_session(tmp_path, materials, ["alice", "bob"])
    app = create_app(session)
    client = client_for(app)
    everything, all_views, tokens = [], [], {}
    for link, rater in app.state.links.items():
        seen, views = crawl(client, session, link, rater)
        everything += seen
        all_views += views
        tokens[rater] = {t for url, *_ in seen for t in re.findall(r"/(?:img|trial)/([A-Za-z0-9_-]{16,64})", url)}
    assert len(all_views) == 2 * 14

    forbidden = [*materials.attributions, "synthetic", "num_levels", "quality", "checkpoint", '"run"', "run_",
                 "safetensors", "sha256", "completion", "train", "seed", str(tmp_path),
                 *(f"L{n}" for n in LEVELS), *(f"-r{r}" for r in RUNS), materials.frames.content_hash()[:12],
                 *(a.content_hash()[:12] for a in materials.attributions.values())]
    # the random ids themselves are left out of the search: 144 random bits in base64 spell "-r1"
    # or "seed" now and then, and an id cannot carry a name (the session draws it from secrets)
    issued = {*app.state.links, FORGED, *(v["trial"] for _, v in all_views),
              *(t for _, v in all_views for t in v["images"].values())}
    for url, status, headers, body in everything:
        text = " ".join([url, *headers.keys(), *headers.values()]).encode() + body
        for token in issued:
            text = text.replace(token.encode(), b"<id>")
        for word in forbidden:
            assert word.encode() not in text, f"{word!r} is visible in the response to {url} ({status})"
        if headers.get("content-type") == "image/png":
            assert set(png_chunks(body)) <= {"IHDR", "IDAT", "IEND"}, f"{url}: metadata chunks"

    # the search is not vacuous: the file on disk names what the pages must not
    on_disk = session.files.judgments.read_bytes()
    assert all(name.encode() in on_disk for name in materials.attributions)

    # URLs are a link token, a fixed asset name, or a random id: no names, no indices
    for url, *_ in everything:
        assert re.fullmatch(r"/|/static/app\.(js|css)|/s/[A-Za-z0-9_-]+/(api/trial/?(/[A-Za-z0-9_-]+)?|img/[A-Za-z0-9_-]+)?",
                            url), url
    tokens = {rater: found - {FORGED} for rater, found in tokens.items()}
    for token in set().union(*tokens.values()):
        assert TOKEN.fullmatch(token)
    assert not tokens["alice"] & tokens["bob"], "two raters share an id"

    # a catch trial is indistinguishable from a main trial of the same type
    for trial, view in all_views:
        assert set(view) == VIEW_KEYS[view["type"]]
        assert view["practice"] == (trial.phase == "demo")
    catch_shapes = {(v["type"], tuple(sorted(v["images"]))) for t, v in all_views if t.catch}
    main_shapes = {(v["type"], tuple(sorted(v["images"]))) for t, v in all_views if t.phase == "main" and not t.catch}
    assert catch_shapes and catch_shapes <= main_shapes


def test_the_page_is_the_same_bytes_for_every_rater_and_study(tmp_path, materials):  # noqa: F811
    one = create_app(new_session(tmp_path / "a", materials, ["alice", "bob"]))
    other = create_app(new_session(tmp_path / "b", materials, ["carol"], study="other-study", seed=99))
    pages = {client_for(app).get(f"/s/{link}/").content for app in (one, other) for link in app.state.links}
    assert len(pages) == 1
    page = pages.pop()
    assert b"http://" not in page and b"https://" not in page  # nothing loaded from elsewhere


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/redoc", "/static/page.py", "/s/"])
def test_no_introspection_routes(tmp_path, materials, path):  # noqa: F811
    client = client_for(create_app(new_session(tmp_path, materials, ["alice"])))
    response = client.get(path)
    assert response.status_code == 404 and response.json() == {"error": "not found"}

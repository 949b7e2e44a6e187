"""``interpbench label``: serve a blinded labelling study to raters on this machine (or, with
``--demo``, let a scripted rater answer it into a separate, model-made file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interpbench.infra.errors import InterpbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--zoo", type=Path, default=None, help="checkpoint folder (default: the shipped zoo)")
    parser.add_argument("--rater", action="append", default=[], metavar="ID",
                        help="a rater id (letters, digits, '_', '-'); repeat for several raters, each gets a link")
    parser.add_argument("--study", default="pilot",
                        help="study name in --studies (human_labels/studies/<name>.json) or a .json path "
                             "(default: pilot)")
    parser.add_argument("--studies", type=Path, default=None, help="folder of study files (default: human_labels/studies)")
    parser.add_argument("--frames", type=Path, default=None,
                        help="FrameSet (.npz); default: the 512 held-out evaluation frames (cached)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for <study>.csv and its provenance (default: human_labels/per_feature)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--demo", action="store_true",
                        help="no server: a scripted rater answers every trial, written as made_by=model:scripted "
                             "to <out>/scripted/<study>.csv, which the leaderboard never reads")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from interpbench import api
    from interpbench.attribution.attribute import attribute_checkpoint
    from interpbench.data.zoo import default_zoo
    from interpbench.labelling.inputs import check_rater_id
    from interpbench.labelling.session import StudySession
    from interpbench.labelling.sources import zoo_materials
    from interpbench.labelling.store import StudyFiles
    from interpbench.labelling.study import STUDIES_DIR, load_study
    from interpbench.validation.labels import PER_FEATURE_DIR

    study = load_study(args.study, args.studies or STUDIES_DIR)
    raters = [check_rater_id(r) for r in args.rater] or (["scripted"] if args.demo else [])
    if not raters:
        raise InterpbenchError("give each rater an id: --rater ID (repeat for several raters)")
    if len(set(raters)) != len(raters):
        raise InterpbenchError(f"a rater id is given twice: {raters}")
    if not 0 < args.port < 65536:
        raise InterpbenchError(f"--port {args.port}: not a port number")
    frames = api.frames(args.frames, progress=not args.no_progress)
    materials = zoo_materials(
        args.zoo or default_zoo(), frames,
        lambda path, fs: attribute_checkpoint(path, fs, head=study.head, n_features=study.n_features,  # type: ignore[arg-type]
                                              progress=not args.no_progress))
    out = args.out or PER_FEATURE_DIR
    if args.demo:
        from interpbench.labelling.scripted import MADE_BY, run_scripted

        session = StudySession(study, materials, StudyFiles.of(study.name, out, scripted=True), raters, made_by=MADE_BY)
        for rater in raters:
            n = run_scripted(session, rater)
            print(f"{rater}: {n} trial(s) answered by the scripted rater")
        print(f"wrote {session.files.judgments} (made_by={MADE_BY}; never counted as human)")
        return 0
    from interpbench.labelling.app import create_app, links_text, serve

    session = StudySession(study, materials, StudyFiles.of(study.name, out), raters)
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    app = create_app(session, allowed_hosts=["127.0.0.1", "localhost", "[::1]"] if loopback else None)
    if not loopback:
        print(f"warning: listening on {args.host}: anyone who can reach it and has a link can submit", file=sys.stderr)
    print(f"study {study.name}: {len(session.sequence(raters[0]))} trials per rater; judgments go to "
          f"{session.files.judgments}")
    for line in links_text(app, args.host, args.port):
        print(f"  {line}")
    print("give each rater their own link; stop with Ctrl-C (every submitted judgment is already on disk)")
    sys.stdout.flush()
    serve(app, args.host, args.port)
    return 0

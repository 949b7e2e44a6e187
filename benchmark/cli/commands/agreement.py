"""``interpbench agreement``: inter-rater agreement of a labelling study, exclusions applied."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="study name (human_labels/studies/<name>.json) or a .json path")
    parser.add_argument("--studies", type=Path, default=None, help="folder of study files (default: human_labels/studies)")
    parser.add_argument("--labels-dir", type=Path, default=None,
                        help="folder holding <study>.csv (default: human_labels/per_feature)")
    parser.add_argument("--scripted", action="store_true", help="analyse the scripted rater's file (<dir>/scripted/)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the statistics as JSON")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic
    from interpbench.labelling.agreement import format_report, study_agreement
    from interpbench.labelling.store import StudyFiles, read_study_judgments
    from interpbench.labelling.study import STUDIES_DIR, load_study
    from interpbench.validation.labels import PER_FEATURE_DIR

    study = load_study(args.study, args.studies or STUDIES_DIR)
    if args.json is not None:
        atomic.check_target(args.json)
    files = StudyFiles.of(study.name, args.labels_dir or PER_FEATURE_DIR, scripted=args.scripted)
    result = study_agreement(study, read_study_judgments(files.judgments))
    print(f"{files.judgments}")
    print(format_report(result))
    if args.json is not None:
        atomic.write_json(args.json, result.as_dict())
        print(f"wrote {args.json}")
    return 0

"""The labelling app: per-feature human judgments collected blind, with catch trials.

A stage between ``reporting`` and ``api``: it reads checkpoints' AttributionSets (given to it by
the caller, so tests can inject synthetic ones) and writes judgment files that
``interpbench.validation.labels`` loads. One job per module, in data-flow order:

* ``study``: the study file (what is asked, how often, the catch trials, the exclusion rules);
* ``inputs``: rater ids and free text, validated and made safe for CSV and HTML;
* ``sources``: the checkpoints' AttributionSets on one FrameSet (``Materials``);
* ``plan``: which items each rater sees, in which seeded order (demo, main, catch);
* ``render`` and ``prepare``: the frames each trial shows, drawn to PNG bytes in memory;
* ``store``: the append-only judgment CSV (fsync'd, under ``flock``) and the study provenance;
* ``session``: the study as a service: current trial, opaque tokens, submissions checked;
* ``page`` and ``app``: the browser page (inline, no network) and the FastAPI routes;
* ``scripted``: a model rater for demos and tests (``made_by=model:scripted``, a separate file);
* ``agreement``: Krippendorff's alpha, split-half reliability, catch accuracy, exclusions.

See ``docs/labelling.md``.
"""

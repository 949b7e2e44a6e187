"""Distillation: datasets really hold the levels they claim, and students resume exactly.

A randomly initialised clear CNN stands in for the teacher: the machinery does not care how good
the teacher is, and these tests then run without the published agent.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest
import torch

from interpbench.agents.models import ClearCNN, preprocess
from interpbench.baselines import distill, runtime
from interpbench.baselines.gather import GatherConfig, gather, load_dataset
from interpbench.infra.errors import InterpbenchError

CONFIG = GatherConfig(steps=256, frames=48, shards=2, num_envs=8, seed=3)


@pytest.fixture(scope="module")
def teacher() -> ClearCNN:
    torch.manual_seed(0)
    return ClearCNN()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, teacher):
    directory = tmp_path_factory.mktemp("data") / "L5"
    gather(teacher, 5, directory, CONFIG, progress=False)
    return directory


def test_dataset_has_exact_frames_and_true_level_count(dataset_dir):
    data = load_dataset(dataset_dir)
    assert len(data) == CONFIG.frames
    assert data.obs.dtype == np.uint8 and data.obs.shape[1:] == (64, 64, 3)
    assert data.logits.shape == (CONFIG.frames, 15) and data.value.shape == (CONFIG.frames,)
    assert set(data.level_seed) <= set(range(5))
    assert data.summary["distinct_levels"] == len(np.unique(data.level_seed))
    assert data.summary["distinct_levels"] <= data.summary["distinct_levels_played"] <= 5


def test_interrupted_gather_resumes_to_the_same_data(dataset_dir, teacher, tmp_path):
    copy = tmp_path / "L5"
    copy.mkdir()
    (copy / "shard-000.npz").write_bytes((dataset_dir / "shard-000.npz").read_bytes())  # shard 1 "lost"
    gather(teacher, 5, copy, CONFIG, progress=False)
    a, b = load_dataset(dataset_dir), load_dataset(copy)
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.level_seed, b.level_seed)


def test_bf16_play_keeps_float32_labels(teacher, tmp_path):
    """Acting under bfloat16 changes which states are visited, never the labels stored for them."""
    directory = tmp_path / "L5"
    gather(teacher, 5, directory, dataclasses.replace(CONFIG, teacher_bf16=True), progress=False)
    data = load_dataset(directory)
    with torch.no_grad():
        logits, value = teacher(preprocess(data.obs))
    torch.testing.assert_close(torch.from_numpy(data.logits), logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(torch.from_numpy(data.value), value, rtol=0, atol=1e-5)


def test_a_dataset_made_under_another_config_is_refused(dataset_dir, teacher, tmp_path):
    with pytest.raises(InterpbenchError, match=r"differing: epsilon\)"):
        gather(teacher, 5, dataset_dir, dataclasses.replace(CONFIG, epsilon=0.5), progress=False)
    partial = tmp_path / "L5"
    partial.mkdir()
    (partial / "gather_config.json").write_text(json.dumps(dataclasses.asdict(CONFIG)))
    (partial / "shard-000.npz").write_bytes((dataset_dir / "shard-000.npz").read_bytes())
    with pytest.raises(InterpbenchError, match=r"differing: frames\)"):
        gather(teacher, 5, partial, dataclasses.replace(CONFIG, frames=40), progress=False)


@pytest.mark.parametrize(("architecture", "bf16"), [("clear-cnn", False), ("clear-cnn", True), ("impala-cnn", False)],
                         ids=["float32", "bf16", "impala-cnn"])
def test_student_learns_and_resumes_exactly(dataset_dir, tmp_path, monkeypatch, architecture, bf16):
    data = load_dataset(dataset_dir)
    config = distill.DistillConfig(CONFIG, train_samples=96, batch_size=16, lr=1e-3, checkpoint_every=2,
                                   bf16=bf16)
    train = functools.partial(distill.train_student, data, config=config, seed=1, device=torch.device("cpu"),
                              progress=False, architecture=architecture)
    unbroken, info = train(tmp_path / "a")
    assert unbroken.architecture == architecture
    assert info["samples"] == 96 and info["optimizer_steps"] == 6

    real_save, calls = runtime.save_state, []

    def save_then_die(path, state, settings):
        real_save(path, state, settings)
        calls.append(state["step"])
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(runtime, "save_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b")
    assert calls == [2, 4]
    resumed, _ = train(tmp_path / "b")
    assert calls == [2, 4, 6]  # continued from step 4, not from the start
    for (name, a), b in zip(unbroken.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_a_state_saved_under_other_settings_is_refused(dataset_dir, tmp_path):
    data = load_dataset(dataset_dir)
    config = distill.DistillConfig(CONFIG, train_samples=32, batch_size=16, lr=1e-3, checkpoint_every=2)
    distill.train_student(data, tmp_path, config, seed=1, device=torch.device("cpu"), progress=False)
    longer = dataclasses.replace(config, train_samples=64)  # a bigger budget continues the same run
    _, info = distill.train_student(data, tmp_path, longer, seed=1, device=torch.device("cpu"), progress=False)
    assert info["optimizer_steps"] == 4
    with pytest.raises(InterpbenchError, match=r"differing: lr\)"):
        distill.train_student(data, tmp_path, dataclasses.replace(longer, lr=5e-4), seed=1,
                              device=torch.device("cpu"), progress=False)
    with pytest.raises(InterpbenchError, match=r"differing: architecture\)"):  # not the clear CNN's state
        distill.train_student(data, tmp_path, longer, seed=1, device=torch.device("cpu"), progress=False,
                              architecture="impala-cnn")


def test_a_larger_budget_continues_the_smaller_budgets_run_exactly(dataset_dir, tmp_path):
    data = load_dataset(dataset_dir)
    short = distill.DistillConfig(CONFIG, train_samples=32, batch_size=16, lr=1e-3, checkpoint_every=1)
    long = dataclasses.replace(short, train_samples=64, anneal_samples=32)  # anneals where short ends
    cpu = torch.device("cpu")
    scratch, _ = distill.train_student(data, tmp_path / "scratch", long, seed=1, device=cpu, progress=False)
    distill.train_student(data, tmp_path / "short", short, seed=1, device=cpu, progress=False)
    warm = tmp_path / "short" / "student_state.pt"
    continued, info = distill.train_student(data, tmp_path / "long", long, seed=1, device=cpu, progress=False,
                                            warm_start=warm)
    assert info["warm_started_from"] == {"state": str(warm), "step": 2}
    for (name, a), b in zip(scratch.state_dict().items(), continued.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    # Resuming its own state later still says where the run began.
    _, again = distill.train_student(data, tmp_path / "long", long, seed=1, device=cpu, progress=False)
    assert again["warm_started_from"] == info["warm_started_from"]
    # A state from a larger budget has passed this run's end, and is not used.
    _, fresh = distill.train_student(data, tmp_path / "other", dataclasses.replace(short, train_samples=16), seed=1,
                                     device=cpu, progress=False, warm_start=warm)
    assert "warm_started_from" not in fresh


def test_the_anneal_decays_the_rate_linearly_to_zero_over_the_last_samples():
    config = distill.DistillConfig(CONFIG, train_samples=64, batch_size=16, lr=1e-3, anneal_samples=32)
    assert [config.lr_at(step) for step in range(4)] == pytest.approx([1e-3, 1e-3, 1e-3, 5e-4])
    assert config.lr_schedule() == [2, 4]
    constant = dataclasses.replace(config, anneal_samples=0)
    assert {constant.lr_at(step) for step in range(4)} == {1e-3}


def test_only_steps_taken_at_the_same_rates_are_continued(dataset_dir, tmp_path):
    data = load_dataset(dataset_dir)
    cpu = torch.device("cpu")
    annealed = distill.DistillConfig(CONFIG, train_samples=64, batch_size=16, lr=1e-3, checkpoint_every=1,
                                     anneal_samples=32)
    distill.train_student(data, tmp_path / "a", annealed, seed=1, device=cpu, progress=False)
    state = tmp_path / "a" / "student_state.pt"
    # Its steps 2-3 were annealed: a longer run (still at the constant rate there) must not use them...
    longer = dataclasses.replace(annealed, train_samples=96)
    _, info = distill.train_student(data, tmp_path / "b", longer, seed=1, device=cpu, progress=False,
                                    warm_start=state)
    assert "warm_started_from" not in info
    # ...and resuming the run itself under the longer schedule is refused, not silently wrong.
    with pytest.raises(InterpbenchError, match="another learning-rate schedule"):
        distill.train_student(data, tmp_path / "a", longer, seed=1, device=cpu, progress=False)


def test_presets_differing_only_in_budget_share_a_base():
    assert distill.base_preset("medium") == "medium"
    assert distill.base_preset("large") == "medium"
    medium, large = distill.PRESETS["medium"], distill.PRESETS["large"]
    assert large.train_samples > medium.train_samples
    assert large.anneal_start() == medium.total_steps()  # medium's students are large's first steps
    assert distill.base_preset("mini") == "mini" and distill.base_preset("tiny") == "tiny"


def test_presets_that_gather_alike_share_their_data():
    assert [distill.data_preset(name) for name in ("tiny", "mini", "medium", "large")] == ["tiny", "mini", "medium",
                                                                                          "medium"]
    assert distill.data_preset("impala") == distill.base_preset("impala") == "impala"  # float32 play: its own data
    monkey = dataclasses.replace(distill.PRESETS["medium"], bf16=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(distill.PRESETS, "medium-float32", monkey)
        assert distill.data_preset("medium-float32") == "medium" != distill.base_preset("medium-float32")


def test_loss_is_zero_for_a_perfect_copy():
    torch.manual_seed(0)
    model = ClearCNN()
    obs = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        logits, value = model(obs)
        loss, parts = distill.distill_loss(model, obs, logits, value, value_coef=0.1)
    assert loss.item() == pytest.approx(0.0, abs=1e-5)
    assert parts["argmax_agreement"] == 1.0


def test_a_zoo_job_under_a_larger_budget_continues_the_base_presets_student(reference_jd, tmp_path, monkeypatch):
    """End to end through ``run_job``: no second dataset, and the shorter run is continued."""
    from interpbench.baselines import zoo

    monkeypatch.setitem(distill.PRESETS, "tiny-long", dataclasses.replace(distill.PRESETS["tiny"], train_samples=128))
    monkeypatch.setitem(zoo.EVAL_EPISODES, "tiny-long", 1)
    runs, shipped = tmp_path / "runs", tmp_path / "zoo"
    zoo.run_job(zoo.Job("distill", 2, 1, "tiny"), zoo_dir=shipped, runs_dir=runs, device="cpu", progress=False)
    meta = zoo.run_job(zoo.Job("distill", 2, 1, "tiny-long"), zoo_dir=shipped, runs_dir=runs, device="cpu",
                       progress=False)
    assert not (runs / "tiny-long" / "data").exists()
    tiny_steps = distill.PRESETS["tiny"].total_steps()
    assert meta["warm_started_from"] == {"preset": "tiny", "step": tiny_steps}
    assert meta["optimizer_steps"] == 128 // 16 > tiny_steps


def test_an_impala_student_is_a_zoo_job_of_its_own(reference_jd, tmp_path):
    """Through ``run_job``: the IMPALA student shares the clear students' data, not their run folders,
    and its checkpoint says what it is and how to remake it."""
    from interpbench.agents.models import load_checkpoint
    from interpbench.baselines import zoo

    runs, shipped = tmp_path / "runs", tmp_path / "zoo"
    zoo.run_job(zoo.Job("distill", 2, 1, "tiny"), zoo_dir=shipped / "clear", runs_dir=runs, device="cpu",
                progress=False)
    job = zoo.Job("distill", 2, 1, "tiny", "impala-cnn")
    meta = zoo.run_job(job, zoo_dir=shipped / "impala", runs_dir=runs, device="cpu", progress=False)
    assert meta["architecture"] == "impala-cnn" and meta["name"] == "distill-L2-r1"
    assert meta["command"] == "interpbench train --method distill --levels 2 --run 1 --preset tiny --architecture impala-cnn"
    assert (runs / "tiny" / "impala-cnn" / "distill-L2-r1" / "student_state.pt").is_file()
    assert sorted(p.name for p in (runs / "tiny" / "data").iterdir()) == ["L2"]
    assert load_checkpoint(shipped / "impala" / "distill-L2-r1").model.architecture == "impala-cnn"
    assert zoo.finished_meta(job, shipped / "impala")["command"] == meta["command"]  # a re-run is a no-op
    assert zoo.finished_meta(job, shipped / "clear") is None  # a clear student is not this job's result
    with pytest.raises(InterpbenchError, match="ppo trains the clear-cnn only"):
        zoo.Job("ppo", 2, 1, "tiny", "impala-cnn")

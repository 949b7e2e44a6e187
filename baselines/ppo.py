"""PPO for procgen CoinRun with the clear CNN, in the manner of CleanRL's ``ppo_procgen.py``.

One file, top to bottom: config, reward normalisation, the rollout, GAE, the clipped update.
It talks to procgen's gym3 interface directly (no gym wrappers), so the only moving parts are
the ones visible here. The defaults are the reference study's hyperparameters (64 envs x 256
steps, 8 minibatches, 3 epochs, lr 5e-4, gamma 0.999, lambda 0.95, clip 0.2, entropy 0.01).

Resuming: the whole state (weights, optimizer, reward statistics, counters, levels seen) is saved
every ``checkpoint_every`` updates. The env itself cannot be saved, so a resumed run starts fresh
episodes (its env is reseeded with the update index, so it does not replay the same levels);
everything the optimisation depends on continues exactly.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from interpbench.agents.init import init_orthogonal
from interpbench.agents.models import ClearCNN, preprocess
from interpbench.baselines import runtime
from interpbench.game.env import heldout_levels, make_env, training_levels
from interpbench.infra.progress import progress_bar


@dataclass(frozen=True)
class PPOConfig:
    total_steps: int = 25_000_000
    num_envs: int = 64
    num_steps: int = 256
    num_minibatches: int = 8
    update_epochs: int = 3
    lr: float = 5e-4
    gamma: float = 0.999
    gae_lambda: float = 0.95
    clip_coef: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    distribution_mode: str = "hard"
    checkpoint_every: int = 1  # updates; one update is minutes on a CPU
    eval_every: int = 25  # updates between held-out completion checks in the log
    eval_episodes: int = 100

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return -(-self.total_steps // self.batch_size)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def resume_settings(self) -> dict[str, Any]:
        """What a resumed run must share with its saved state: all but the budget (there is no
        learning-rate schedule, so a longer run continues the same one) and the logging cadence."""
        cadence = ("total_steps", "checkpoint_every", "eval_every", "eval_episodes")
        return {k: v for k, v in self.as_dict().items() if k not in cadence}


class RewardNormalizer:
    """Scale rewards by the running std of discounted returns (what gym's NormalizeReward does),
    so the value head sees returns of order one whatever the game's reward scale."""

    def __init__(self, num_envs: int, gamma: float, clip: float = 10.0) -> None:
        self.gamma, self.clip = gamma, clip
        self.returns = np.zeros(num_envs)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def __call__(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + reward
        self._update(self.returns)
        self.returns[done] = 0.0
        return np.clip(reward / np.sqrt(self.var + 1e-8), -self.clip, self.clip)

    def _update(self, x: np.ndarray) -> None:
        # Chan et al.'s parallel variance update, as in gym's RunningMeanStd.
        batch_mean, batch_var, n = x.mean(), x.var(), len(x)
        delta, total = batch_mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]


def gae(rewards, values, dones, next_value, next_done, gamma: float, lam: float) -> torch.Tensor:
    """Generalised advantage estimates; ``dones[t]`` marks that obs ``t`` began a new episode."""
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(len(rewards))):
        nonterminal = 1.0 - (next_done if t == len(rewards) - 1 else dones[t + 1])
        following = next_value if t == len(rewards) - 1 else values[t + 1]
        delta = rewards[t] + gamma * following * nonterminal - values[t]
        advantages[t] = last = delta + gamma * lam * nonterminal * last
    return advantages


def to_input(frames: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 frames (N, 64, 64, 3) -> the network's float input, channels-last (faster on CPU)."""
    return preprocess(frames).to(device).contiguous(memory_format=torch.channels_last)


def train_ppo(
    num_levels: int,
    run_dir: Path,
    config: PPOConfig,
    *,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> tuple[ClearCNN, dict[str, Any]]:
    """Train (or resume) a PPO agent on training levels [0, num_levels); returns it and a summary."""
    from interpbench.agents.policies import ModelPolicy
    from interpbench.agents.rollout import evaluate_completion

    state_path = run_dir / "ppo_state.pt"
    log = runtime.JsonlLog(run_dir / "train_log.jsonl")
    torch.manual_seed(seed)
    agent = init_orthogonal(ClearCNN()).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=1e-5)
    normalize = RewardNormalizer(config.num_envs, config.gamma)
    update, seconds, levels_seen = 0, 0.0, set()
    if (saved := runtime.load_state(state_path, config.resume_settings())) is not None:
        agent.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        normalize.load_state_dict(saved["normalizer"])
        update, seconds, levels_seen = saved["update"], saved["seconds"], set(saved["levels_seen"])
        runtime.set_rng_state(saved["rng"])

    n, steps = config.num_envs, config.num_steps
    env = make_env(n, training_levels(num_levels), seed=seed * 1_000_003 + update,
                   distribution_mode=config.distribution_mode)  # type: ignore[arg-type]
    obs = torch.zeros((steps, n, 64, 64, 3), dtype=torch.uint8)  # raw frames: 4x smaller than floats
    actions = torch.zeros((steps, n), dtype=torch.long, device=device)
    logprobs, rewards, dones, values = (torch.zeros((steps, n), device=device) for _ in range(4))
    recent: deque[float] = deque(maxlen=100)  # completion of the last 100 training episodes
    _, raw_obs, first = env.observe()
    next_obs, next_done = torch.from_numpy(raw_obs["rgb"]), torch.zeros(n, device=device)
    started = time.perf_counter()
    bar = progress_bar(total=config.num_updates * config.batch_size, initial=update * config.batch_size,
                       desc=run_dir.name, unit="step", enabled=progress)
    while update < config.num_updates:
        # -- rollout --------------------------------------------------------------------------
        for step in range(steps):
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                logits, value = agent(to_input(next_obs, device))
            dist = Categorical(logits=logits)
            action = dist.sample()
            actions[step], logprobs[step], values[step] = action, dist.log_prob(action), value
            env.act(action.cpu().numpy().astype(np.int32))
            reward, raw_obs, first = env.observe()
            info = env.get_info()
            levels_seen.update(int(i["level_seed"]) for i in info)
            recent.extend(int(info[i]["prev_level_complete"]) for i in np.flatnonzero(first))
            rewards[step] = torch.as_tensor(normalize(reward, first), dtype=torch.float32, device=device)
            next_obs = torch.from_numpy(raw_obs["rgb"])
            next_done = torch.as_tensor(first, dtype=torch.float32, device=device)

        with torch.no_grad():
            next_value = agent(to_input(next_obs, device))[1]
        advantages = gae(rewards, values, dones, next_value, next_done, config.gamma, config.gae_lambda)
        returns = advantages + values

        # -- clipped PPO update over shuffled minibatches -----------------------------------------
        b_obs, b_actions = obs.reshape(-1, 64, 64, 3), actions.reshape(-1)
        b_logprobs, b_adv = logprobs.reshape(-1), advantages.reshape(-1)
        b_returns, b_values = returns.reshape(-1), values.reshape(-1)
        minibatch = config.batch_size // config.num_minibatches
        stats: dict[str, list[float]] = {"pg_loss": [], "v_loss": [], "entropy": [], "approx_kl": [], "clipfrac": []}
        for _ in range(config.update_epochs):
            order = torch.randperm(config.batch_size, device=device)
            for start in range(0, config.batch_size, minibatch):
                mb = order[start : start + minibatch]
                logits, new_value = agent(to_input(b_obs[mb.cpu()], device))
                dist = Categorical(logits=logits)
                log_ratio = dist.log_prob(b_actions[mb]) - b_logprobs[mb]
                ratio = log_ratio.exp()
                adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - config.clip_coef, 1 + config.clip_coef)).mean()
                v_clipped = b_values[mb] + (new_value - b_values[mb]).clamp(-config.clip_coef, config.clip_coef)
                v_loss = 0.5 * torch.max((new_value - b_returns[mb]) ** 2, (v_clipped - b_returns[mb]) ** 2).mean()
                entropy = dist.entropy().mean()
                loss = pg_loss - config.ent_coef * entropy + config.vf_coef * v_loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                optimizer.step()
                with torch.no_grad():
                    stats["approx_kl"].append(((ratio - 1) - log_ratio).mean().item())
                    stats["clipfrac"].append(((ratio - 1).abs() > config.clip_coef).float().mean().item())
                stats["pg_loss"].append(pg_loss.item())
                stats["v_loss"].append(v_loss.item())
                stats["entropy"].append(entropy.item())

        # -- bookkeeping ----------------------------------------------------------------------
        update += 1
        bar.update(config.batch_size)
        elapsed = seconds + time.perf_counter() - started
        record: dict[str, Any] = {k: round(float(np.mean(v)), 4) for k, v in stats.items()}
        record["train_completion_last100"] = round(float(np.mean(recent)), 3) if recent else None
        if update % config.eval_every == 0 or update == config.num_updates:
            policy = ModelPolicy(agent, seed=0)
            record["test_completion"] = evaluate_completion(
                policy, heldout_levels(), config.eval_episodes, seed=0, progress=False
            )["completion_rate"]
        log.write(update=update, env_steps=update * config.batch_size, seconds=round(elapsed, 1), **record)
        bar.set_postfix(train=record["train_completion_last100"], test=record.get("test_completion"))
        if update % config.checkpoint_every == 0 or update == config.num_updates:
            runtime.save_state(state_path, {
                "model": agent.state_dict(), "optimizer": optimizer.state_dict(),
                "normalizer": normalize.state_dict(), "update": update, "seconds": elapsed,
                "levels_seen": sorted(levels_seen), "rng": runtime.rng_state(),
            }, config.resume_settings())
    bar.close()
    seconds += time.perf_counter() - started
    return agent.eval().cpu().to(memory_format=torch.contiguous_format), {
        "env_steps": update * config.batch_size,
        "updates": update,
        "samples": update * config.batch_size,
        "distinct_levels_seen": len(levels_seen),
        "train_seconds": round(seconds, 1),
    }


PRESETS: dict[str, PPOConfig] = {
    # Seconds on one CPU core: two updates of a toy batch, for tests of the machinery.
    "tiny": PPOConfig(total_steps=128, num_envs=4, num_steps=16, num_minibatches=2, update_epochs=1,
                      eval_episodes=1),
    # The reference hyperparameters; 25M steps (CleanRL's procgen default) is GPU-scale work.
    "reference": PPOConfig(),
}

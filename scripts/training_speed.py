"""Clear-CNN throughput on this machine: distillation train steps and policy forwards per second.

Presets are sized in samples, so their wall time depends on these rates (docs/training.md,
"What was measured"). Random inputs: only the arithmetic is timed, not data loading.

    python scripts/training_speed.py                    # float32 and bfloat16, one thread
    python scripts/training_speed.py --threads 2 --batch 256 --compile
"""

from __future__ import annotations

import argparse
import time

import torch

from interpbench.agents.models import ClearCNN
from interpbench.baselines.distill import distill_loss


def rate(step, items: int, repeats: int) -> float:
    """Items per second over ``repeats`` calls of ``step`` after three warm-up calls."""
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return items * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128, help="train batch size")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (compile time excluded)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for bf16 in (False, True):
        model = ClearCNN().to(memory_format=torch.channels_last)
        forward = torch.compile(model) if args.compile else model
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
        obs = torch.rand(args.batch, 3, 64, 64).contiguous(memory_format=torch.channels_last)
        logits, value = torch.randn(args.batch, 15), torch.randn(args.batch)
        frames = torch.rand(64, 3, 64, 64).contiguous(memory_format=torch.channels_last)

        def train_step() -> None:
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                loss, _ = distill_loss(forward, obs, logits, value, 0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        def act() -> None:
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                forward(frames)

        name = "bfloat16" if bf16 else "float32"
        print(f"{name}: train {rate(train_step, args.batch, max(8, 2048 // args.batch)):.0f} samples/s "
              f"(batch {args.batch}), forward {rate(act, 64, 20):.0f} frames/s (batch 64), "
              f"{args.threads} thread(s)", flush=True)


if __name__ == "__main__":
    main()

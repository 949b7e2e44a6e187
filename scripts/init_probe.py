"""Why students start from orthogonal weights: activation scale and early learning, both inits.

A student whose convolutional stack shrinks the signal starts nearly blind to the frame and can
sit at the teacher's state-independent average policy for a long time; benchmark/agents/init.py and
docs/training.md quote this script's figures. It prints, for PyTorch's default initialisation
and for ``init_orthogonal``, the std of each conv block's ReLU output on real frames, then the
KL(teacher || student) on held-out frames while a probe student trains (float32, plain Adam, no
checkpoints: a probe, not a zoo student). The bar to beat is the KL of the teacher's average
policy, printed first.

    python scripts/init_probe.py runs/mini/data/L100000 runs/mini/data/L3000
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from interpbench.agents.init import init_orthogonal
from interpbench.agents.models import CONV_LAYERS, ClearCNN, preprocess
from interpbench.baselines.distill import distill_loss, policy_kl
from interpbench.baselines.gather import Dataset, load_dataset

INITS = {"default": lambda model: model, "orthogonal": init_orthogonal}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_data", type=Path, help="dataset the probe students train on")
    parser.add_argument("eval_data", type=Path, help="dataset whose first --eval-frames frames measure KL")
    parser.add_argument("--samples", type=int, default=51_200)
    parser.add_argument("--every", type=int, default=6_400, help="samples between KL measurements")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--eval-frames", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    train: Dataset = load_dataset(args.train_data)
    held: Dataset = load_dataset(args.eval_data)
    eval_obs = preprocess(held.obs[: args.eval_frames])
    eval_logits = torch.from_numpy(held.logits[: args.eval_frames])
    average = torch.softmax(torch.from_numpy(held.logits), 1).mean(0).log()
    print(json.dumps({"teacher_average_policy_kl": round(policy_kl(average.expand_as(eval_logits), eval_logits).item(), 4)}))

    for name, init in INITS.items():
        torch.manual_seed(args.seed)
        student = init(ClearCNN(num_actions=train.logits.shape[1]))
        with torch.no_grad():
            stds = {layer: round(student.forward_to(layer, eval_obs).std().item(), 4) for layer, *_ in CONV_LAYERS}
        print(json.dumps({"init": name, "activation_std": stds}), flush=True)
        optimizer = torch.optim.Adam(student.parameters(), lr=args.lr)
        rng = np.random.default_rng(args.seed)  # the same minibatches for both inits
        for step in range(args.samples // args.batch):
            idx = np.sort(rng.choice(len(train), args.batch, replace=False))
            loss, _ = distill_loss(student, preprocess(train.obs[idx]), torch.from_numpy(train.logits[idx]),
                                   torch.from_numpy(train.value[idx]), value_coef=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ((step + 1) * args.batch) % args.every == 0:
                with torch.no_grad():
                    kl = policy_kl(student(eval_obs)[0], eval_logits).item()
                print(json.dumps({"init": name, "samples": (step + 1) * args.batch, "heldout_kl": round(kl, 4)}),
                      flush=True)


if __name__ == "__main__":
    main()

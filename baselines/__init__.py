"""Baselines that produce the checkpoint zoo: PPO from scratch and distillation of the published
agent into students that see only L training levels (see docs/training.md)."""

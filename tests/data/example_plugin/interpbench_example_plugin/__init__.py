"""A third-party metric that does not import interpbench's registry: the entry point names the
class, and interpbench registers it under the entry point's name (``agent-share``)."""

import numpy as np


class AgentShare:
    """Share of the feature's positive attribution mass on the agent (example plugin)."""

    higher_is_better = True

    def score(self, attr, frames) -> np.ndarray:
        values = np.maximum(attr.maps, 0).reshape(attr.n_frames, attr.n_features, -1)
        agent = frames.masks[:, frames.class_index("agent")].reshape(len(frames), 1, -1)
        total = values.sum(axis=(0, 2))
        return np.where(total > 0, (values * agent).sum(axis=(0, 2)) / np.where(total > 0, total, 1), 0.0)

"""Interventional ground truth per feature, measured on the models themselves (never human).

``hiding`` re-renders frames with one object class hidden; ``dependence`` measures how much of
each NMF feature's attribution that removes; ``selectivity`` turns the drops into a per-feature
profile, selectivity and top class; ``causes`` and ``ablation`` remove a feature from the
network during play and count how episodes end; ``table`` stores the results with their
provenance; ``track`` compares a metric's per-feature scores with them. See docs/interventions.md.
"""

"""Human judgments with provenance, shipped as package data (``interpbench.human_labels``).

No code lives here: the folder is a package only so that installed copies find their files
through ``importlib.resources``. Loaders: ``interpbench.validation.labels``.
"""

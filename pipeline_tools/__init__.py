"""This pipeline's own tools, on top of the local endpoint and using only its AWS APIs:
`up`/`run` (stack.py, demo.py), per-message runs (runs/), the web console (console/)."""

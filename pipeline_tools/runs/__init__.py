"""Per-message runs of the pipeline, read through AWS APIs: the reader (reader.py) and the
`runs` command (cli.py)."""

"""Reliability checks of the pipeline: chaos runs with fault injection, an invariant checker,
and property-based fuzzing of Validate (docs/reliability.md)."""

"""Reliability checks of the pipeline: chaos runs with fault injection, an invariant checker,
and property-based fuzzing of Validate (README section: reliability/README_SECTION.md)."""

"""This pipeline's operational tools on top of any AWS endpoint (AWS or local), AWS APIs only."""

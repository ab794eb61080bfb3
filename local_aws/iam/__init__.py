"""IAM for the local endpoint: role credentials and enforcement of identity-based policies."""

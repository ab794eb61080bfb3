"""The local Lambda service: warm worker processes (runtime.py) started with the bootstrap
worker.py, function/layer requirements installed as `sam build` would (packages.py), and the
function's logs and EMF metrics written to CloudWatch (cloudwatch.py)."""

"""Step Functions on moto's interpreter: the StartExecution / StartSyncExecution front
(executions.py), Step Functions Local mock configurations (mock_config.py) and the interpreter's
patches (patches.py).

Nothing is imported here: `definitions` is read by tools that only talk to AWS APIs (the runs
CLI, the console), and importing the front would load moto's interpreter (~2 s) into them."""

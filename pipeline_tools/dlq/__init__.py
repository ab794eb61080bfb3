"""Dead-letter queue triage and redrive: `runs dlq list | show | redrive`.

Everything goes through AWS APIs (SQS, Step Functions, DynamoDB), so the same commands work
against AWS and against the local endpoint. docs/operations.md has the on-call guide and the IAM
permissions.

    queues.py    which DLQ, source queue and table (flags, or discovered from redrive policies)
    messages.py  read the DLQ without losing or reordering anything; filters
    reasons.py   why a message is there (quarantine attributes, or its executions)
    redrive.py   the plan (dry run) and its application (send, then delete)
    cli.py       the commands and their output
"""

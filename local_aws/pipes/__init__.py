"""EventBridge Pipes: SQS source -> Step Functions target, emulated from a template's pipe."""

"""Exit the process in the middle of an invocation."""

import os


def lambda_handler(event, context):
    print("crashing now", flush=True)
    os._exit(3)

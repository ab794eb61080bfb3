"""Sleep longer than the function's timeout."""

import time


def lambda_handler(event, context):
    print("going to sleep")
    time.sleep(event.get("seconds", 30))
    return {"slept": True}

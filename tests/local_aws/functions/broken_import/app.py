"""Import a module that is not in this function's requirements."""

import requests_that_do_not_exist  # noqa: F401


def lambda_handler(event, context):
    return {}

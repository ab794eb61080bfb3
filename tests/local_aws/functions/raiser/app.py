"""Raise a custom error class, as the pipeline's Lambdas do."""


class DynamoDBSaveError(Exception):
    pass


def lambda_handler(event, context):
    print("about to fail")
    raise DynamoDBSaveError(f"could not save {event.get('id', '?')}")

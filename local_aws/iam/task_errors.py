"""The error names a Task gets on AWS when its service integration is denied by IAM.

moto's Step Functions interpreter (moto 5.2.5) names a denied call after the raw error code, or
generically: `Lambda.AccessDeniedException`, `SQS.SdkClientException`,
`cloudwatch.cloudwatchException`. Step Functions names them after the AWS SDK (Java) exception
its integration raises:
- Lambda: AccessDeniedException is not one of Invoke's modeled errors (Lambda API reference,
  Invoke, "Errors"), so the SDK raises its generic `AWSLambdaException`: the Task fails with
  `Lambda.AWSLambdaException` (one of the errors of Step Functions' documented Lambda retrier,
  step-functions/latest/dg/sfn-best-practices.html#bp-lambda-serviceexception);
- SQS (optimized integration): `SQS.AmazonSQSException`, the SDK's generic SQS exception;
- AWS SDK integrations: `ServiceName.ErrorName`, both in PascalCase, with the Exception suffix
  ("Learning to use AWS service SDK integrations in Step Functions",
  step-functions/latest/dg/supported-services-awssdk.html): an unmodeled AccessDenied of
  CloudWatch is `CloudWatch.CloudWatchException`.
Only access-denied errors are renamed; every other error keeps moto's name.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException"}
_applied = False


def _is_access_denied(ex: Exception) -> bool:
    return (
        isinstance(ex, ClientError) and ex.response.get("Error", {}).get("Code") in _ACCESS_DENIED
    )


def _renamed(original: Any, name_for: Any) -> Any:
    def _from_error(self, env, ex):
        event = original(self, env, ex)
        if _is_access_denied(ex):
            name = name_for(self)
            from moto.stepfunctions.parser.asl.component.common.error_name import (
                custom_error_name,
            )

            event.error_name = custom_error_name.CustomErrorName(name)
            details = (event.event_details or {}).get("taskFailedEventDetails")
            if details is not None:
                details["error"] = name
        return event

    return _from_error


def apply() -> None:
    """Install the renaming (idempotent)."""
    global _applied
    if _applied:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
        state_task_service_lambda,
        state_task_service_sqs,
    )

    lambda_task = state_task_service_lambda.StateTaskServiceLambda
    lambda_task._from_error = _renamed(
        lambda_task._from_error, lambda _task: "Lambda.AWSLambdaException"
    )
    sqs_task = state_task_service_sqs.StateTaskServiceSqs
    sqs_task._from_error = _renamed(sqs_task._from_error, lambda _task: "SQS.AmazonSQSException")
    sdk_task = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    sdk_task._from_error = _renamed(sdk_task._from_error, _sdk_exception_name)
    _applied = True


def _sdk_exception_name(task: Any) -> str:
    """`CloudWatch.CloudWatchException`: the service's PascalCase name (moto's binding, else
    botocore's serviceId) and the SDK's generic exception of that service."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
    )

    api_name = task.resource.api_name
    name = state_task_service_aws_sdk._SERVICE_ERROR_NAMES.get(api_name.lower())
    if name is None:
        import botocore.session

        model = botocore.session.get_session().get_service_model(api_name)
        name = model.metadata["serviceId"].replace(" ", "")
    return f"{name}.{name}Exception"

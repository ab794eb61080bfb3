"""A generic local AWS: moto in server mode plus what moto lacks, on one endpoint.

    server.py      LocalAWS: start/stop the endpoint, mount extra WSGI apps, boto3 clients
    config.py      every setting and default (LOCAL_AWS_*, port 4577, us-east-1, 123456789012)
    clients.py     the one boto3 client factory for the endpoint
    core/          the WSGI gateway, request identification, AWS error wire formats
    awslambda/     a Docker-free Lambda runtime (warm worker processes), its logs and metrics
    stepfunctions* StartExecution/StartSyncExecution front, mock configs (Step Functions Local)
    pipes/         EventBridge Pipes (SQS -> Step Functions) emulated from a template
    xray/          X-Ray daemon, trace store, the segments AWS records, the X-Ray API
    faults/        fault injection: AWS errors in each service's protocol, Lambda crashes
    deploy.py, template.py, stack.py  a SAM/CloudFormation template deployed onto the endpoint
    moto_patches.py  what local_aws changes in moto at run time
    cli.py         `python -m local_aws serve | faults | invocations`

Nothing here is specific to one application (tests/local_aws/test_no_pipeline_names.py).
"""

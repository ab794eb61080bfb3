"""The SAM transform, as `sam deploy` has it done: aws-sam-translator, offline.

`sam deploy` uploads every local artifact (CodeUri, ContentUri, DefinitionUri) to S3, rewrites
the template to point at the uploads (`sam package`), and CloudFormation runs the
AWS::Serverless-2016-10-31 transform on it. Here the same translator (the version aws-sam-cli
pins, requirements-deploy.txt) runs in process; the "upload" is a rewrite of each local path to
`s3://<ARTIFACT_BUCKET>/<path relative to the template>`, which the deployer maps back to the
folder (`local_artifact`). The translator needs the ARNs of the AWS managed policies a template
names in `Policies`; managed_policies.json holds them with their documents (read by local IAM).
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# Not a real bucket: marks a location the local deployer reads from the template's folder.
ARTIFACT_BUCKET = "local-aws-artifacts"
MANAGED_POLICIES_FILE = Path(__file__).with_name("managed_policies.json")

# The translator's usage metrics are never published here; its warning about that is noise.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)

# The SAM properties `sam package` uploads (resource type -> property).
_ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class TransformError(Exception):
    """The translator refused the template (its messages, one per resource)."""


@cache
def managed_policies() -> dict[str, dict[str, Any]]:
    """AWS managed policies by name: {"Arn", "Document", ...} (see managed_policies.json)."""
    return json.loads(MANAGED_POLICIES_FILE.read_text())["policies"]


def managed_policy_document(arn: str) -> dict[str, Any] | None:
    for policy in managed_policies().values():
        if policy["Arn"] == arn:
            return policy["Document"]
    return None


def has_sam_transform(body: Mapping[str, Any]) -> bool:
    transform = body.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def transform(
    body: Mapping[str, Any], parameter_values: Mapping[str, Any], *, region: str
) -> dict[str, Any]:
    """The CloudFormation template CloudFormation deploys for a SAM template."""
    packaged = copy.deepcopy(dict(body))
    for resource in packaged.get("Resources", {}).values():
        prop = _ARTIFACT_PROPERTIES.get(resource.get("Type"))
        props = resource.get("Properties") or {}
        if prop and isinstance(props.get(prop), str) and not props[prop].startswith("s3://"):
            props[prop] = f"s3://{ARTIFACT_BUCKET}/{props[prop].rstrip('/')}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        return translator.translate(
            packaged,
            parameter_values=dict(parameter_values),
            get_managed_policy_map=lambda: {n: p["Arn"] for n, p in managed_policies().items()},
        )
    except InvalidDocumentException as exc:
        messages = "; ".join(str(cause) for cause in exc.causes)
        raise TransformError(f"SAM transform failed: {messages}") from exc


def local_artifact(location: Any, base_dir: Path) -> Path | None:
    """The local file or folder behind a packaged location ({S3Bucket, S3Key} or
    {Bucket, Key}); None when it is not one of ours."""
    if not isinstance(location, Mapping):
        return None
    bucket = location.get("S3Bucket", location.get("Bucket"))
    key = location.get("S3Key", location.get("Key"))
    if bucket != ARTIFACT_BUCKET or not isinstance(key, str):
        return None
    return (base_dir / key).resolve()

"""AWS managed policies in the endpoint's IAM (moto).

moto loads its copy of every AWS managed policy only with MOTO_IAM_LOAD_MANAGED_POLICIES (about
1,300 documents, slow to start); a template attaches a handful, so the ones it names are added
one by one from local_aws/cloudformation/managed_policies.json (documents with their source).
"""

from __future__ import annotations

from moto.iam.models import AWSManagedPolicy, iam_backends

from local_aws.cloudformation.sam import managed_policies


def register_aws_managed_policy(arn: str, account_id: str) -> None:
    """Make `arn` attachable in moto's IAM; customer-managed ARNs are left to the API."""
    if not arn.startswith("arn:aws:iam::aws:policy/"):
        return
    backend = iam_backends[account_id]["aws"]
    if arn in backend.managed_policies:
        return
    for name, policy in managed_policies().items():
        if policy["Arn"] == arn:
            data = {
                "DefaultVersionId": policy["DefaultVersionId"],
                "Path": arn.removeprefix("arn:aws:iam::aws:policy").removesuffix(name),
                "Document": policy["Document"],
                "CreateDate": policy["UpdateDate"],
                "UpdateDate": policy["UpdateDate"],
            }
            managed = AWSManagedPolicy.from_data(name, account_id, "us-east-1", data)
            backend.aws_managed_policies.append(managed)
            backend.managed_policies[arn] = managed
            return
    raise KeyError(
        f"AWS managed policy {arn} is not in local_aws/cloudformation/managed_policies.json: "
        "add its document (from the IAM console or `aws iam get-policy-version`)"
    )

"""ECR repositories: scan on push, tag immutability, repository policy, encryption."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import iso, json_safe, known, optional, parse_policy, public_statements, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext


@resource_type(
    "aws.ecr.repository",
    resource_type="container_registry",
    service="ecr",
    interval_minutes=60,
    permissions=("ecr:DescribeRepositories", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"),
)
def collect_repositories(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """ECR repositories: image scan on push, tag immutability, repository policy (public when it allows anyone),
    encryption type and key."""
    ecr = ctx.client("ecr", region)
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repository in page.get("repositories", []):
            name = repository["repositoryName"]
            arn = repository["repositoryArn"]
            policy_response = optional(
                lambda name=name: ecr.get_repository_policy(repositoryName=name),
                absent=("RepositoryPolicyNotFoundException",),
                what="GetRepositoryPolicy",
            )
            tags = optional(lambda arn=arn: ecr.list_tags_for_resource(resourceArn=arn), what="ListTagsForResource")
            policy = parse_policy((known(policy_response) or {}).get("policyText"))
            reasons = public_statements(policy)
            encryption = repository.get("encryptionConfiguration") or {}
            properties = {
                "scan_on_push": bool((repository.get("imageScanningConfiguration") or {}).get("scanOnPush")),
                "tag_immutable": str(repository.get("imageTagMutability", "")).startswith("IMMUTABLE"),
                "public": bool(reasons),
                "policy": policy,
                # AWS specifics
                "public_reasons": reasons,
                "tag_mutability": repository.get("imageTagMutability"),
                "encryption_type": encryption.get("encryptionType"),
                "kms_key_id": encryption.get("kmsKey"),
                "uri": repository.get("repositoryUri"),
                "created_at": iso(repository.get("createdAt")),
            }
            raw = json_safe(repository)
            raw["Policy"] = policy
            yield ResourceRecord(
                resource_type="container_registry",
                native_type="aws.ecr.repository",
                region=region,
                native_id=arn,
                name=name,
                properties=properties,
                raw=raw,
                tags=tags_from_list((known(tags) or {}).get("tags")),
            )

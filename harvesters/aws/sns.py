"""SNS topics: access policy and encryption."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import json_safe, known, optional, parse_policy, public_statements, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# Subscription counters change with use, not with configuration.
_VOLATILE = {"SubscriptionsConfirmed", "SubscriptionsPending", "SubscriptionsDeleted"}


@resource_type(
    "aws.sns.topic",
    resource_type="notification_topic",
    service="sns",
    interval_minutes=30,
    permissions=("sns:ListTopics", "sns:GetTopicAttributes", "sns:ListTagsForResource"),
)
def collect_topics(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """SNS topics: access policy (public when it allows anyone), KMS encryption, FIFO."""
    sns = ctx.client("sns", region)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            arn = topic["TopicArn"]
            try:
                attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            except sns.exceptions.NotFoundException:
                continue  # deleted between the listing and now
            tags = optional(lambda arn=arn: sns.list_tags_for_resource(ResourceArn=arn), what="ListTagsForResource")
            policy = parse_policy(attributes.get("Policy"))
            kms_key = attributes.get("KmsMasterKeyId") or None
            reasons = public_statements(policy)
            properties = {
                "public": bool(reasons),
                "encrypted": bool(kms_key),
                "policy": policy,
                # AWS specifics
                "public_reasons": reasons,
                "kms_key_id": kms_key,
                "display_name": attributes.get("DisplayName") or None,
                "fifo": attributes.get("FifoTopic") == "true",
            }
            raw = {key: value for key, value in attributes.items() if key not in _VOLATILE}
            raw["Policy"] = policy
            yield ResourceRecord(
                resource_type="notification_topic",
                native_type="aws.sns.topic",
                region=region,
                native_id=arn,
                name=arn.rsplit(":", 1)[-1],
                properties=properties,
                raw=json_safe(raw),
                tags=tags_from_list((known(tags) or {}).get("Tags")),
            )

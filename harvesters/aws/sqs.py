"""SQS queues: access policy (public or not) and encryption at rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import json_safe, known, optional, parse_policy, public_statements
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# Counters that move with traffic: not configuration, so not kept (they would record a change each harvest).
_VOLATILE = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "LastModifiedTimestamp",
}


@resource_type(
    "aws.sqs.queue",
    resource_type="message_queue",
    service="sqs",
    interval_minutes=30,
    permissions=("sqs:ListQueues", "sqs:GetQueueAttributes", "sqs:ListQueueTags"),
)
def collect_queues(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """SQS queues: access policy (public when it allows anyone), KMS or SQS-managed encryption, FIFO,
    dead-letter queue."""
    sqs = ctx.client("sqs", region)
    for page in sqs.get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            try:
                attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            except sqs.exceptions.QueueDoesNotExist:
                continue  # deleted between the listing and now
            tags = optional(lambda url=url: sqs.list_queue_tags(QueueUrl=url), what="ListQueueTags")
            policy = parse_policy(attributes.get("Policy"))
            kms_key = attributes.get("KmsMasterKeyId") or None
            reasons = public_statements(policy)
            properties = {
                "public": bool(reasons),
                "encrypted": bool(kms_key) or attributes.get("SqsManagedSseEnabled") == "true",
                "policy": policy,
                # AWS specifics
                "public_reasons": reasons,
                "kms_key_id": kms_key,
                "sqs_managed_encryption": attributes.get("SqsManagedSseEnabled") == "true",
                "fifo": attributes.get("FifoQueue") == "true",
                "dead_letter_target": (parse_policy(attributes.get("RedrivePolicy")) or {}).get("deadLetterTargetArn"),
                "url": url,
            }
            raw = {key: value for key, value in attributes.items() if key not in _VOLATILE}
            raw["Policy"] = policy
            yield ResourceRecord(
                resource_type="message_queue",
                native_type="aws.sqs.queue",
                region=region,
                native_id=attributes.get("QueueArn") or url,
                name=url.rstrip("/").rsplit("/", 1)[-1],
                properties=properties,
                raw=json_safe(raw),
                tags=dict((known(tags) or {}).get("Tags") or {}),
            )

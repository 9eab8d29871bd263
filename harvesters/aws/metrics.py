"""Send InsightCloud's own metrics (queue backlog) to CloudWatch."""

from __future__ import annotations

from harvesters.aws.session import botocore_config


def put_backlog(backlog: dict[str, int], *, namespace: str, region: str, endpoint_url: str | None = None) -> None:
    """One PutMetricData call: a Count metric per queue name (Immediate, High Priority, Standard)."""
    import boto3

    client = boto3.session.Session().client(
        "cloudwatch", region_name=region, endpoint_url=endpoint_url, config=botocore_config(endpoint_url)
    )
    client.put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": name, "Value": float(value), "Unit": "Count"} for name, value in backlog.items()],
    )

from __future__ import annotations

import json

from harvesters.aws import lambda_ as lambda_module
from harvesters.aws import sns as sns_module
from harvesters.aws import sqs as sqs_module
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import LAMBDA_TRUST, REGION, collect, make_function


def test_lambda_with_open_url_and_public_policy_is_public(aws):
    role = aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"][
        "Arn"
    ]
    client = aws.client("lambda", REGION)
    make_function(aws, "open-fn", role, Environment={"Variables": {"DB_PASSWORD": "hunter2"}})
    client.create_function_url_config(FunctionName="open-fn", AuthType="NONE")
    client.add_permission(FunctionName="open-fn", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*")
    make_function(aws, "private-fn", role, Tags={"team": "api"})
    client.create_function_url_config(FunctionName="private-fn", AuthType="AWS_IAM")

    functions = collect(lambda_module.collect_functions, aws)
    open_fn = functions["open-fn"]
    props = open_fn.properties
    assert missing_properties("serverless_function", props) == []
    assert props["runtime"] == "python3.12" and props["role"] == role
    # moto lacks ListFunctionUrlConfigs (404): the collector falls back to GetFunctionUrlConfig
    assert props["url_auth_type"] == "NONE" and props["url_configs_available"] is True
    assert props["public"] is True
    assert "function URL requires no authentication" in props["public_reasons"]
    assert any("lambda:InvokeFunction to everyone" in reason for reason in props["public_reasons"])
    assert props["policy"]["Statement"][0]["Sid"] == "anyone"
    # environment variable names are kept, their values (secrets) never
    assert props["environment_variables"] == ["DB_PASSWORD"]
    assert "hunter2" not in json.dumps(open_fn.raw)

    private = functions["private-fn"]
    assert private.properties["public"] is False
    assert private.properties["url_auth_type"] == "AWS_IAM"
    assert private.properties["policy"] is None
    assert private.tags == {"team": "api"}


def public_policy(arn: str, action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": action, "Resource": arn}],
        }
    )


def test_sqs_queue_policy_and_encryption(aws):
    sqs = aws.client("sqs", REGION)
    open_url = sqs.create_queue(QueueName="open-queue")["QueueUrl"]
    open_arn = sqs.get_queue_attributes(QueueUrl=open_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=open_url, Attributes={"Policy": public_policy(open_arn, "sqs:SendMessage")})
    sqs.create_queue(QueueName="safe-queue", Attributes={"KmsMasterKeyId": "alias/aws/sqs"}, tags={"team": "billing"})
    queues = collect(sqs_module.collect_queues, aws)
    open_queue = queues["open-queue"]
    assert missing_properties("message_queue", open_queue.properties) == []
    assert open_queue.properties["public"] is True
    assert open_queue.native_id == open_arn
    safe = queues["safe-queue"]
    assert safe.properties["public"] is False
    assert safe.properties["encrypted"] is True and safe.properties["kms_key_id"] == "alias/aws/sqs"
    assert safe.tags == {"team": "billing"}
    assert "ApproximateNumberOfMessages" not in safe.raw


def test_sns_topic_policy_and_encryption(aws):
    sns = aws.client("sns", REGION)
    open_arn = sns.create_topic(Name="open-topic")["TopicArn"]
    sns.set_topic_attributes(
        TopicArn=open_arn, AttributeName="Policy", AttributeValue=public_policy(open_arn, "SNS:Publish")
    )
    sns.create_topic(
        Name="safe-topic", Attributes={"KmsMasterKeyId": "alias/aws/sns"}, Tags=[{"Key": "team", "Value": "ops"}]
    )
    topics = collect(sns_module.collect_topics, aws)
    open_topic = topics["open-topic"]
    assert missing_properties("notification_topic", open_topic.properties) == []
    assert open_topic.properties["public"] is True and open_topic.properties["encrypted"] is False
    safe = topics["safe-topic"]
    assert safe.properties["public"] is False  # the default policy only allows the owner account
    assert safe.properties["encrypted"] is True
    assert safe.tags == {"team": "ops"}
    json.dumps(safe.raw)

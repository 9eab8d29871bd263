from __future__ import annotations

import json

from harvesters.aws import iam as iam_module
from harvesters.base import GLOBAL
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import collect

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
TRUST_ANYONE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def make_identities(aws) -> str:
    iam = aws.client("iam")
    policy_arn = iam.create_policy(PolicyName="read-s3", PolicyDocument=json.dumps(READ_S3))["Policy"]["Arn"]
    iam.create_policy(PolicyName="god-mode", PolicyDocument=json.dumps(ADMIN), Tags=[{"Key": "risk", "Value": "high"}])
    # a careless user: console password without MFA, an active key, an inline admin policy
    iam.create_user(UserName="careless", Tags=[{"Key": "team", "Value": "ops"}])
    iam.create_login_profile(UserName="careless", Password="Passw0rd!Passw0rd!")
    iam.create_access_key(UserName="careless")
    iam.put_user_policy(UserName="careless", PolicyName="everything", PolicyDocument=json.dumps(ADMIN))
    # a careful user: MFA, no password, permissions through a group
    iam.create_user(UserName="careful")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="careful")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="careful", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy_arn)
    iam.add_user_to_group(GroupName="readers", UserName="careful")
    iam.create_role(RoleName="open-role", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE))
    iam.create_role(
        RoleName="ec2-role", AssumeRolePolicyDocument=json.dumps(TRUST_EC2), Tags=[{"Key": "app", "Value": "web"}]
    )
    iam.attach_role_policy(RoleName="ec2-role", PolicyArn=policy_arn)
    return policy_arn


def test_user_with_password_and_no_mfa_is_reported_with_keys_and_policies(aws):
    make_identities(aws)
    users = collect(iam_module.collect_users, aws, GLOBAL)
    careless = users["careless"]
    props = careless.properties
    assert missing_properties("service_user", props) == []
    assert props["console_access"] is True
    assert props["mfa_enabled"] is False
    assert len(props["access_keys"]) == 1
    key = props["access_keys"][0]
    assert key["active"] is True and key["id"].startswith("AKIA")
    assert key["created_at"] and key["last_used_at"] is None
    assert props["inline_policies"][0]["name"] == "everything"
    assert props["inline_policies"][0]["document"]["Statement"][0]["Action"] == "*"
    assert careless.region == GLOBAL
    assert careless.native_id == f"arn:aws:iam::{aws.account_id}:user/careless"
    assert careless.tags == {"team": "ops"}
    json.dumps(careless.raw)


def test_user_with_mfa_and_group_membership(aws):
    make_identities(aws)
    props = collect(iam_module.collect_users, aws, GLOBAL)["careful"].properties
    assert props["console_access"] is False
    assert props["mfa_enabled"] is True and len(props["mfa_devices"]) == 1
    assert props["access_keys"] == []
    assert props["groups"] == ["readers"]


def test_roles_carry_their_trust_policy(aws):
    policy_arn = make_identities(aws)
    roles = collect(iam_module.collect_roles, aws, GLOBAL)
    open_role = roles["open-role"].properties
    assert missing_properties("service_role", open_role) == []
    assert open_role["trust_policy"] == TRUST_ANYONE
    assert open_role["trusted_principals"] == ["*"]
    ec2 = roles["ec2-role"]
    assert ec2.properties["trusted_principals"] == ["ec2.amazonaws.com"]
    assert ec2.properties["attached_policies"] == [policy_arn]
    assert ec2.tags == {"app": "web"}


def test_customer_managed_policies_with_default_document(aws):
    make_identities(aws)
    policies = collect(iam_module.collect_policies, aws, GLOBAL)
    assert set(policies) == {"read-s3", "god-mode"}  # AWS-managed policies are not harvested
    god = policies["god-mode"]
    assert missing_properties("service_policy", god.properties) == []
    assert god.properties["document"] == ADMIN
    assert god.properties["customer_managed"] is True
    assert god.properties["allows_admin"] is True
    assert god.tags == {"risk": "high"}
    read = policies["read-s3"].properties
    assert read["allows_admin"] is False
    assert read["attached_count"] == 2


def test_groups_list_members_and_policies(aws):
    policy_arn = make_identities(aws)
    group = collect(iam_module.collect_groups, aws, GLOBAL)["readers"]
    assert missing_properties("service_group", group.properties) == []
    assert group.properties["members"] == ["careful"]
    assert group.properties["attached_policies"] == [policy_arn]


def test_account_without_password_policy(aws):
    records = list(iam_module.collect_account(aws, GLOBAL))
    assert len(records) == 1
    account = records[0]
    props = account.properties
    assert missing_properties("cloud_account", props) == []
    assert props["password_policy"] is None and props["password_policy_present"] is False
    # moto's credential report has no <root_account> row: the account summary answers instead
    assert props["root_mfa_enabled"] is False
    assert props["public_access_block"] is False
    assert account.native_id == f"arn:aws:iam::{aws.account_id}:root"
    assert account.name == aws.account_id
    json.dumps(account.raw)


def test_account_password_policy_and_alias(aws):
    iam = aws.client("iam")
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )
    iam.create_account_alias(AccountAlias="acme-prod")
    account = next(iam_module.collect_account(aws, GLOBAL))
    policy = account.properties["password_policy"]
    assert policy["min_length"] == 14 and policy["max_age_days"] == 90 and policy["reuse_prevention"] == 24
    assert policy["require_symbols"] and policy["require_numbers"]
    assert account.name == "acme-prod"
    assert account.properties["summary"]["Users"] == 0


def test_credential_report_is_parsed(aws):
    aws.client("iam").create_user(UserName="reported")
    rows = iam_module.credential_report(aws.client("iam"))
    assert [row["user"] for row in rows] == ["reported"]
    assert iam_module._report_bool(rows[0]["mfa_active"]) is False
    assert iam_module._report_time("no_information") is None


def test_root_row_of_the_credential_report():
    header = (
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
        "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
        "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
        "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
        "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
        "cert_2_active,cert_2_last_rotated"
    )
    row = (
        "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,"
        "2024-03-01T10:00:00+00:00,not_supported,not_supported,false,true,2020-01-01T00:00:00+00:00,"
        "2024-04-01T09:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )
    import csv
    import io

    root = next(csv.DictReader(io.StringIO(f"{header}\n{row}\n")))
    mfa, keys, last_used = iam_module.root_credentials(root)
    assert mfa is False
    assert keys is True
    assert last_used == "2024-04-01T09:00:00+00:00"

"""One insight covers four clouds only if they describe a resource the same way: the common
normalized keys of the main types are filled by AWS, Azure, GCP and Alibaba alike, with values
of the declared kind. Each cloud runs its real collectors against moto or our fake."""

from __future__ import annotations

import pytest

from harvesters.base import GLOBAL, get_driver, resource_types_for
from harvesters.normalized import TYPES, missing_properties
from tests.alibaba.conftest import alibaba_ctx, alibaba_fake  # noqa: F401  (fixtures)
from tests.aws_types.conftest import REGION, aws, moto_url  # noqa: F401  (fixtures)
from tests.azure.conftest import auth_settings, azure_ctx, azure_fake  # noqa: F401
from tests.gcp.conftest import gcp_ctx, gcp_fake, gcp_key, no_proxy_env, recording_sleep  # noqa: F401

COMPARED = ("instance", "security_group", "storage_container", "volume", "database_instance", "encryption_key")
KINDS = {"bool": bool, "int": int, "str": str, "list": list, "dict": dict}


def seed_aws(ctx) -> None:
    """One of each compared type in moto (the other clouds' fakes come with an estate)."""
    ec2 = ctx.client("ec2", REGION)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    group = ec2.create_security_group(GroupName="web", Description="web servers")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="0.0.0.0/0")
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SecurityGroupIds=[group])
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=False)
    ctx.client("s3", REGION).create_bucket(Bucket="shape-bucket")
    ctx.client("kms", REGION).create_key(Description="shape key")
    ctx.client("rds", REGION).create_db_instance(
        DBInstanceIdentifier="shape-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="a-long-password-1",
        AllocatedStorage=20,
    )


def properties_by_type(provider: str, ctx, regions: list[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {name: [] for name in COMPARED}
    for spec in resource_types_for(provider):
        if spec.resource_type not in COMPARED:
            continue
        for region in [GLOBAL] if spec.scope == "global" else regions:
            found[spec.resource_type] += [record.properties for record in spec.collect(ctx, region)]
    return found


def declared_kinds(declaration: str) -> tuple[type, ...] | None:
    """'bool|None: …' -> (bool,); None when the declaration names no simple kind."""
    names = declaration.split(":", 1)[0].split("|")
    kinds = tuple(KINDS[name.split("[", 1)[0]] for name in names if name.split("[", 1)[0] in KINDS)
    return kinds or None


@pytest.fixture
def all_clouds(aws, azure_ctx, gcp_ctx, alibaba_ctx):  # noqa: F811
    seed_aws(aws)
    return {
        "aws": properties_by_type("aws", aws, [REGION]),
        "azure": properties_by_type("azure", azure_ctx, ["eastus", "westeurope"]),
        "gcp": properties_by_type("gcp", gcp_ctx, get_driver("gcp").regions(gcp_ctx)),
        "alibaba": properties_by_type("alibaba", alibaba_ctx, get_driver("alibaba").regions(alibaba_ctx)),
    }


def test_the_main_types_have_the_same_normalized_keys_on_all_four_clouds(all_clouds):
    for resource_type in COMPARED:
        common = set(TYPES[resource_type].properties)
        for provider, found in all_clouds.items():
            records = found[resource_type]
            assert records, f"{provider} harvested no {resource_type}"
            for properties in records:
                assert missing_properties(resource_type, properties) == [], (provider, resource_type)
                assert common <= set(properties)


def test_common_values_have_the_declared_kind_on_every_cloud(all_clouds):
    wrong: set[str] = set()
    for resource_type in COMPARED:
        for key, declaration in TYPES[resource_type].properties.items():
            kinds = declared_kinds(declaration)
            if kinds is None:
                continue
            for provider, found in all_clouds.items():
                for properties in found[resource_type]:
                    value = properties[key]
                    if value is None:
                        if "None" not in declaration:
                            wrong.add(f"{provider} {resource_type}.{key} is None, declared {declaration!r}")
                        continue
                    # bool is an int in Python: an int key must not carry a bool, and vice versa.
                    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                        wrong.add(f"{provider} {resource_type}.{key} = {value!r}, declared {declaration!r}")
    assert not wrong, "\n".join(sorted(wrong))

from __future__ import annotations

import json

from harvesters.aws import kms as kms_module
from harvesters.aws import rds as rds_module
from harvesters.normalized import missing_properties
from tests.aws_types.conftest import REGION, collect


def test_kms_keys_report_rotation_state_and_policy(aws):
    kms = aws.client("kms", REGION)
    rotating = kms.create_key(Description="rotating", Tags=[{"TagKey": "team", "TagValue": "sec"}])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotating["KeyId"])
    kms.create_alias(AliasName="alias/rotating", TargetKeyId=rotating["KeyId"])
    stale = kms.create_key(Description="stale")["KeyMetadata"]
    kms.disable_key(KeyId=stale["KeyId"])
    doomed = kms.create_key(Description="doomed")["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)

    keys = {record.native_id: record for record in kms_module.collect_keys(aws, REGION)}
    good = keys[rotating["Arn"]]
    assert missing_properties("encryption_key", good.properties) == []
    assert good.name == "alias/rotating"
    assert good.properties["rotation_enabled"] is True
    assert good.properties["state"] == "enabled"
    assert good.properties["customer_managed"] is True
    assert good.properties["policy"]["Statement"]
    assert good.properties["public"] is False
    assert good.tags == {"team": "sec"}
    bad = keys[stale["Arn"]].properties
    assert bad["rotation_enabled"] is False and bad["state"] == "disabled"
    pending = keys[doomed["Arn"]].properties
    assert pending["state"] == "pending_deletion" and pending["deletion_date"]
    json.dumps(good.raw)


def test_public_and_private_rds_instances(aws):
    rds = aws.client("rds", REGION)
    rds.create_db_instance(
        DBInstanceIdentifier="open-db",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="Secret123456",
        PubliclyAccessible=True,
        BackupRetentionPeriod=0,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="safe-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="Secret123456",
        PubliclyAccessible=False,
        StorageEncrypted=True,
        MultiAZ=True,
        BackupRetentionPeriod=14,
        DeletionProtection=True,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    dbs = collect(rds_module.collect_db_instances, aws)
    open_db = dbs["open-db"].properties
    assert missing_properties("database_instance", open_db) == []
    assert open_db["public"] is True and open_db["encrypted"] is False
    assert open_db["backup_retention_days"] == 0
    assert open_db["engine"] == "mysql" and open_db["engine_version"] == "8.0.35"
    safe = dbs["safe-db"]
    assert safe.properties["public"] is False and safe.properties["encrypted"] is True
    assert safe.properties["multi_az"] is True and safe.properties["backup_retention_days"] == 14
    assert safe.properties["deletion_protection"] is True
    assert safe.tags == {"env": "prod"}
    assert safe.native_id.startswith("arn:aws:rds:us-east-1:")
    json.dumps(safe.raw)


def test_rds_snapshot_shared_publicly_is_flagged(aws):
    rds = aws.client("rds", REGION)
    rds.create_db_instance(
        DBInstanceIdentifier="db1",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="Secret123456",
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="public-snap", DBInstanceIdentifier="db1")
    rds.create_db_snapshot(DBSnapshotIdentifier="shared-snap", DBInstanceIdentifier="db1")
    rds.create_db_snapshot(DBSnapshotIdentifier="private-snap", DBInstanceIdentifier="db1")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="public-snap", AttributeName="restore", ValuesToAdd=["all"])
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="shared-snap", AttributeName="restore", ValuesToAdd=["111122223333"]
    )
    snapshots = collect(rds_module.collect_db_snapshots, aws)
    public = snapshots["public-snap"].properties
    assert missing_properties("database_snapshot", public) == []
    assert public["public"] is True
    shared = snapshots["shared-snap"].properties
    assert shared["public"] is False and shared["shared_with"] == ["111122223333"]
    private = snapshots["private-snap"].properties
    assert private["public"] is False and private["shared_with"] == []
    assert private["db_instance"] == "db1"

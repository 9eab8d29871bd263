"""A small Alibaba Cloud fake: the RPC APIs (ECS, VPC, RAM, RDS, KMS, ActionTrail, SLB, STS) and OSS.

It speaks the wire format the real SDKs use, so aliyun-python-sdk-core and oss2 run unchanged:

- RPC: ``Action`` and ``Version`` in the query string (or a POST form), or in the
  ``x-acs-action`` / ``x-acs-version`` headers for new-style calls (signed ``ACS3-HMAC-SHA256``
  in the Authorization header: there only the key and token are checked); the RPC HMAC-SHA1
  ``Signature`` is checked against the key's secret (an unknown AccessKeyId answers
  ``InvalidAccessKeyId.NotFound``, a wrong secret ``SignatureDoesNotMatch``); answers are JSON
  with a ``RequestId``. The product is told apart by ``Version``, as every product may sit
  behind the one endpoint of the fake.
- OSS: path-style requests signed ``Authorization: OSS <key>:<signature>`` (only the key is
  checked), XML answers as oss2 parses them.

Paging follows each API: PageNumber/PageSize/TotalCount (ECS, VPC, RDS, KMS, SLB), NextToken/
MaxResults (ECS DescribeDisks), Marker/MaxItems/IsTruncated (RAM, OSS ListBuckets).
``fake.max_page_size`` caps every page so that small estates still span several pages;
``fake.latency`` delays every answer like a real network round trip.

``fake.state`` is plain Python data in the cloud's own record shapes; a test mutates it between
harvests. ``fake.fail(action, status, times, code)`` injects errors; ``fake.calls`` records
``(product, action, params)`` for every RPC and OSS request.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

ACCOUNT_ID = "1234567890123456"
GOOD_KEY_ID = "LTAI5tGoodKeyForTests"
GOOD_KEY_SECRET = "good-secret-value-for-tests"
ROLE_ARN = f"acs:ram::{ACCOUNT_ID}:role/insightcloud-audit"

VERSIONS = {
    "2014-05-26": "ecs",
    "2016-04-28": "vpc",
    "2015-05-01": "ram",
    "2014-08-15": "rds",
    "2016-01-20": "kms",
    "2020-07-06": "actiontrail",
    "2014-05-15": "slb",
    "2015-04-01": "sts",
}


class FakeError(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message or code


def _list(container: str, item: str, items: list) -> dict:
    return {container: {item: items}}


def default_estate() -> dict[str, Any]:
    """A small account: each misconfiguration next to a well-configured twin."""
    hz, sh = "cn-hangzhou", "cn-shanghai"
    # fmt: off
    return {
        "regions": [
            {"RegionId": hz, "LocalName": "China (Hangzhou)", "Status": "available"},
            {"RegionId": sh, "LocalName": "China (Shanghai)", "Status": "available"},
        ],
        "vpcs": [
            {"VpcId": "vpc-open", "RegionId": hz, "VpcName": "prod", "CidrBlock": "10.0.0.0/16", "IsDefault": False},
            {"VpcId": "vpc-default", "RegionId": hz, "VpcName": "", "CidrBlock": "172.16.0.0/12", "IsDefault": True},
        ],
        "vswitches": [
            {"VSwitchId": "vsw-a", "VpcId": "vpc-open", "RegionId": hz, "ZoneId": "cn-hangzhou-h",
             "CidrBlock": "10.0.1.0/24", "VSwitchName": "web"},
        ],
        "flow_logs": [
            {"FlowLogId": "fl-1", "RegionId": hz, "ResourceType": "VPC", "ResourceId": "vpc-open", "Status": "Active"},
        ],
        "security_groups": [
            {"SecurityGroupId": "sg-open", "RegionId": hz, "SecurityGroupName": "ssh-world", "VpcId": "vpc-open",
             "Description": "SSH from anywhere", "SecurityGroupType": "normal",
             "Permissions": [
                 {"Direction": "ingress", "IpProtocol": "TCP", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0",
                  "Policy": "Accept", "Priority": "1", "Description": "ssh"},
                 {"Direction": "egress", "IpProtocol": "ALL", "PortRange": "-1/-1", "DestCidrIp": "0.0.0.0/0",
                  "Policy": "Accept", "Priority": "1", "Description": ""},
             ]},
            {"SecurityGroupId": "sg-closed", "RegionId": hz, "SecurityGroupName": "web-internal",
             "VpcId": "vpc-open", "Description": "HTTPS from the LB only", "SecurityGroupType": "normal",
             "Permissions": [
                 {"Direction": "ingress", "IpProtocol": "TCP", "PortRange": "443/443", "SourceGroupId": "sg-open",
                  "Policy": "Accept", "Priority": "1", "Description": "from lb"},
                 {"Direction": "ingress", "IpProtocol": "TCP", "PortRange": "3389/3389",
                  "SourceCidrIp": "0.0.0.0/0", "Policy": "Drop", "Priority": "1", "Description": "no rdp"},
             ]},
        ],
        "instances": [
            {"InstanceId": "i-public", "RegionId": hz, "InstanceName": "bastion", "Status": "Running",
             "InstanceType": "ecs.g7.large", "ImageId": "ubuntu_22_04_x64", "ZoneId": "cn-hangzhou-h",
             "PublicIpAddress": {"IpAddress": ["47.0.0.1"]}, "EipAddress": {"IpAddress": ""},
             "VpcAttributes": {"VpcId": "vpc-open", "VSwitchId": "vsw-a",
                               "PrivateIpAddress": {"IpAddress": ["10.0.1.5"]}},
             "SecurityGroupIds": {"SecurityGroupId": ["sg-open"]}, "CreationTime": "2026-01-02T03:04Z",
             "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]}},
            {"InstanceId": "i-private", "RegionId": hz, "InstanceName": "app", "Status": "Stopped",
             "InstanceType": "ecs.g7.xlarge", "ImageId": "centos_8", "ZoneId": "cn-hangzhou-h",
             "PublicIpAddress": {"IpAddress": []}, "EipAddress": {"IpAddress": ""},
             "VpcAttributes": {"VpcId": "vpc-open", "VSwitchId": "vsw-a",
                               "PrivateIpAddress": {"IpAddress": ["10.0.1.6"]}},
             "SecurityGroupIds": {"SecurityGroupId": ["sg-closed"]}, "CreationTime": "2026-01-03T03:04Z",
             "RamRoleName": "app-role", "Tags": {"Tag": []}},
            {"InstanceId": "i-eip", "RegionId": hz, "InstanceName": "api", "Status": "Running",
             "InstanceType": "ecs.g7.large", "ImageId": "centos_8", "ZoneId": "cn-hangzhou-h",
             "PublicIpAddress": {"IpAddress": []}, "EipAddress": {"IpAddress": "47.0.0.9"},
             "VpcAttributes": {"VpcId": "vpc-open", "VSwitchId": "vsw-a",
                               "PrivateIpAddress": {"IpAddress": ["10.0.1.7"]}},
             "SecurityGroupIds": {"SecurityGroupId": ["sg-closed"]}, "CreationTime": "2026-01-04T03:04Z",
             "Tags": {"Tag": []}},
        ],
        "disks": [
            {"DiskId": "d-plain", "RegionId": hz, "DiskName": "data", "Size": 100, "Encrypted": False,
             "KMSKeyId": "", "Status": "In_use", "InstanceId": "i-public", "Category": "cloud_essd",
             "Type": "data", "CreationTime": "2026-01-02T03:04Z"},
            {"DiskId": "d-cmk", "RegionId": hz, "DiskName": "secure", "Size": 40, "Encrypted": True,
             "KMSKeyId": "key-rotated", "Status": "In_use", "InstanceId": "i-private",
             "Category": "cloud_essd", "Type": "system", "CreationTime": "2026-01-03T03:04Z"},
            {"DiskId": "d-loose", "RegionId": hz, "DiskName": "", "Size": 20, "Encrypted": True,
             "KMSKeyId": "", "Status": "Available", "InstanceId": "", "Category": "cloud_efficiency",
             "Type": "data", "CreationTime": "2026-01-05T03:04Z"},
        ],
        "snapshots": [
            {"SnapshotId": "s-plain", "RegionId": hz, "SnapshotName": "nightly", "SourceDiskId": "d-plain",
             "Encrypted": False, "Status": "accomplished", "CreationTime": "2026-02-01T00:00Z"},
            {"SnapshotId": "s-enc", "RegionId": hz, "SnapshotName": "secure", "SourceDiskId": "d-cmk",
             "Encrypted": True, "KMSKeyId": "key-rotated", "Status": "accomplished",
             "CreationTime": "2026-02-02T00:00Z"},
        ],
        "buckets": [
            {"Name": "public-assets", "Location": "oss-cn-hangzhou", "CreationDate": "2026-01-01T00:00:00.000Z",
             "StorageClass": "Standard", "Acl": "public-read", "Policy": None, "Encryption": None,
             "Logging": None, "Versioning": None},
            {"Name": "open-policy", "Location": "oss-cn-hangzhou", "CreationDate": "2026-01-02T00:00:00.000Z",
             "StorageClass": "Standard", "Acl": "private",
             "Policy": {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": ["*"],
                                                       "Action": ["oss:GetObject"],
                                                       "Resource": ["acs:oss:*:*:open-policy/*"]}]},
             "Encryption": {"SSEAlgorithm": "AES256"}, "Logging": None, "Versioning": None},
            {"Name": "private-logs", "Location": "oss-cn-shanghai", "CreationDate": "2026-01-03T00:00:00.000Z",
             "StorageClass": "IA", "Acl": "private", "Policy": None,
             "Encryption": {"SSEAlgorithm": "KMS", "KMSMasterKeyID": "key-rotated"},
             "Logging": {"TargetBucket": "private-logs", "TargetPrefix": "access/"}, "Versioning": "Enabled"},
        ],
        "users": [
            {"UserId": "2001", "UserName": "alice", "DisplayName": "Alice", "CreateDate": "2026-01-01T00:00:00Z",
             "LastLoginDate": "2026-03-01T00:00:00Z",
             "LoginProfile": {"PasswordResetRequired": False, "MFABindRequired": False}, "MFADevice": None,
             "AccessKeys": [{"AccessKeyId": "LTAIalice1", "Status": "Active", "CreateDate": "2026-01-01T00:00:00Z",
                             "LastUsedDate": "2026-03-02T00:00:00Z"}],
             "Policies": [{"PolicyName": "AdministratorAccess", "PolicyType": "System"}],
             "Groups": [{"GroupName": "admins"}]},
            {"UserId": "2002", "UserName": "bob", "DisplayName": "Bob", "CreateDate": "2026-01-01T00:00:00Z",
             "LastLoginDate": "2026-03-05T00:00:00Z",
             "LoginProfile": {"PasswordResetRequired": False, "MFABindRequired": True},
             "MFADevice": {"SerialNumber": "acs:ram::1234567890123456:mfa/bob", "Type": "VMFA"},
             "AccessKeys": [], "Policies": [{"PolicyName": "ReadOnlyAccess", "PolicyType": "System"}],
             "Groups": []},
            {"UserId": "2003", "UserName": "ci-bot", "DisplayName": "CI", "CreateDate": "2026-01-01T00:00:00Z",
             "LoginProfile": None, "MFADevice": None,
             "AccessKeys": [{"AccessKeyId": "LTAIci1", "Status": "Active", "CreateDate": "2025-01-01T00:00:00Z",
                             "LastUsedDate": None},
                            {"AccessKeyId": "LTAIci2", "Status": "Inactive", "CreateDate": "2025-06-01T00:00:00Z",
                             "LastUsedDate": "2025-07-01T00:00:00Z"}],
             "Policies": [{"PolicyName": "everything", "PolicyType": "Custom"}], "Groups": []},
        ],
        "policies": [
            {"PolicyName": "everything", "PolicyType": "Custom", "Description": "too broad",
             "DefaultVersion": "v1", "AttachmentCount": 1, "CreateDate": "2026-01-01T00:00:00Z",
             "UpdateDate": "2026-01-01T00:00:00Z",
             "Document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
            {"PolicyName": "read-buckets", "PolicyType": "Custom", "Description": "scoped",
             "DefaultVersion": "v2", "AttachmentCount": 0, "CreateDate": "2026-01-01T00:00:00Z",
             "UpdateDate": "2026-01-02T00:00:00Z",
             "Document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:Get*", "oss:List*"],
                                                         "Resource": ["acs:oss:*:*:logs/*"]}]}},
        ],
        "password_policy": {"MinimumPasswordLength": 8, "RequireLowercaseCharacters": True,
                            "RequireUppercaseCharacters": False, "RequireNumbers": True,
                            "RequireSymbols": False, "MaxPasswordAge": 0, "PasswordReusePrevention": 0,
                            "MaxLoginAttemps": 5, "HardExpiry": False},
        "security_preference": {"LoginProfilePreference": {"EnableSaveMFATicket": True,
                                                           "AllowUserToChangePassword": True,
                                                           "LoginSessionDuration": 6},
                                "AccessKeyPreference": {"AllowUserToManageAccessKeys": False},
                                "MFAPreference": {"AllowUserToManageMFADevices": True}},
        "db_instances": [
            {"DBInstanceId": "rm-public", "RegionId": hz, "DBInstanceDescription": "orders", "Engine": "MySQL",
             "EngineVersion": "8.0", "DBInstanceStatus": "Running", "DBInstanceNetType": "Internet",
             "VpcId": "vpc-open", "ZoneId": "cn-hangzhou-h", "Category": "Basic",
             "CreateTime": "2026-01-01T00:00:00Z", "BackupRetentionPeriod": 7,
             "NetInfo": [{"IPType": "Public", "ConnectionString": "rm-public.mysql.rds.aliyuncs.com",
                          "Port": "3306"},
                         {"IPType": "Private", "ConnectionString": "rm-public.mysql.rds.aliyuncs.com",
                          "Port": "3306"}],
             "IPArrays": [{"DBInstanceIPArrayName": "default", "SecurityIPList": "0.0.0.0/0,10.0.0.0/8"}],
             "TDEStatus": "Disabled", "SSLEnabled": "No"},
            {"DBInstanceId": "rm-private", "RegionId": hz, "DBInstanceDescription": "billing",
             "Engine": "PostgreSQL", "EngineVersion": "15.0", "DBInstanceStatus": "Running",
             "DBInstanceNetType": "Intranet", "VpcId": "vpc-open", "ZoneId": "cn-hangzhou-h",
             "Category": "HighAvailability", "CreateTime": "2026-01-01T00:00:00Z", "BackupRetentionPeriod": 30,
             "NetInfo": [{"IPType": "Private", "ConnectionString": "rm-private.pg.rds.aliyuncs.com",
                          "Port": "5432"}],
             "IPArrays": [{"DBInstanceIPArrayName": "default", "SecurityIPList": "10.0.1.0/24"}],
             "TDEStatus": "Enabled", "SSLEnabled": "Yes"},
        ],
        "kms_keys": [
            {"KeyId": "key-rotated", "RegionId": hz, "KeyState": "Enabled", "Creator": ACCOUNT_ID,
             "CreationDate": "2026-01-01T00:00:00Z", "AutomaticRotation": "Enabled", "RotationInterval": "31536000s",
             "KeySpec": "Aliyun_AES_256", "KeyUsage": "ENCRYPT/DECRYPT", "Origin": "Aliyun_KMS",
             "ProtectionLevel": "SOFTWARE", "Description": "data key", "DeleteDate": ""},
            {"KeyId": "key-static", "RegionId": hz, "KeyState": "Enabled", "Creator": ACCOUNT_ID,
             "CreationDate": "2026-01-01T00:00:00Z", "AutomaticRotation": "Disabled", "RotationInterval": "",
             "KeySpec": "Aliyun_AES_256", "KeyUsage": "ENCRYPT/DECRYPT", "Origin": "Aliyun_KMS",
             "ProtectionLevel": "SOFTWARE", "Description": "never rotated", "DeleteDate": ""},
            {"KeyId": "key-doomed", "RegionId": hz, "KeyState": "PendingDeletion", "Creator": "Oss",
             "CreationDate": "2025-01-01T00:00:00Z", "AutomaticRotation": "Disabled", "RotationInterval": "",
             "KeySpec": "Aliyun_AES_256", "KeyUsage": "ENCRYPT/DECRYPT", "Origin": "Aliyun_KMS",
             "ProtectionLevel": "SOFTWARE", "Description": "service key", "DeleteDate": "2026-12-01T00:00:00Z"},
        ],
        "trails": [
            {"Name": "all-regions", "HomeRegion": hz, "TrailRegion": "All", "Status": "Enable", "EventRW": "All",
             "OssBucketName": "private-logs", "OssKeyPrefix": "trail", "SlsProjectArn": "",
             "IsOrganizationTrail": False, "CreateTime": "2026-01-01T00:00:00Z", "IsLogging": True},
            {"Name": "one-region-off", "HomeRegion": hz, "TrailRegion": hz, "Status": "Disable",
             "EventRW": "Write", "OssBucketName": "", "OssKeyPrefix": "", "SlsProjectArn": "",
             "IsOrganizationTrail": False, "CreateTime": "2026-01-01T00:00:00Z", "IsLogging": False},
        ],
        "load_balancers": [
            {"LoadBalancerId": "lb-http", "RegionId": hz, "LoadBalancerName": "web-http", "AddressType": "internet",
             "Address": "47.0.0.20", "VpcId": "vpc-open", "VSwitchId": "", "LoadBalancerStatus": "active",
             "NetworkType": "vpc", "CreateTime": "2026-01-01T00:00Z",
             "Listeners": [{"ListenerPort": 80, "ListenerProtocol": "http"},
                           {"ListenerPort": 443, "ListenerProtocol": "https",
                            "TLSCipherPolicy": "tls_cipher_policy_1_0", "ServerCertificateId": "cert-1"}]},
            {"LoadBalancerId": "lb-https", "RegionId": hz, "LoadBalancerName": "web-tls", "AddressType": "intranet",
             "Address": "10.0.1.20", "VpcId": "vpc-open", "VSwitchId": "vsw-a", "LoadBalancerStatus": "active",
             "NetworkType": "vpc", "CreateTime": "2026-01-01T00:00Z",
             "Listeners": [{"ListenerPort": 443, "ListenerProtocol": "https",
                            "TLSCipherPolicy": "tls_cipher_policy_1_2_strict", "ServerCertificateId": "cert-2"}]},
        ],
    }
    # fmt: on


def _percent(value: str) -> str:
    return quote(value, safe="~")


def rpc_string_to_sign(method: str, params: dict[str, str]) -> str:
    """The RPC signature v1 string to sign (written from the API reference, not the SDK's code)."""
    canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()) if k != "Signature")
    return f"{method}&{_percent('/')}&{_percent(canonical)}"


def rpc_signature(secret: str, string_to_sign: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AlibabaFake:
    """The fake's state, keys and handlers; ``start()`` serves it on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = default_estate()
        # AccessKeyId -> {secret, arn, kind, token}
        self.keys: dict[str, dict[str, Any]] = {
            GOOD_KEY_ID: {"secret": GOOD_KEY_SECRET, "arn": f"acs:ram::{ACCOUNT_ID}:user/auditor", "kind": "RAMUser"},
        }
        self.roles = {ROLE_ARN}
        self.max_page_size = 100
        self.latency = 0.0  # seconds added to every answer, to stand in for a real network round trip
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control --

    def start(self) -> AlibabaFake:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, action: str, status: int = 503, times: int = 1, code: str | None = None) -> None:
        """Answer the next ``times`` calls of ``action`` (an RPC action or an OSS operation) with an error."""
        code = code or ("Throttling.User" if status in (400, 429) else "ServiceUnavailable")
        with self._lock:
            self._failures.setdefault(action, []).extend([(status, code)] * times)

    def actions(self, product: str | None = None) -> list[str]:
        return [action for prod, action, _ in self.calls if product is None or prod == product]

    def _take_failure(self, action: str) -> tuple[int, str] | None:
        with self._lock:
            queue = self._failures.get(action)
            return queue.pop(0) if queue else None

    # -- authentication --

    def check_header_signature(self, authorization: str, headers: Any) -> dict[str, Any]:
        """New-style calls (ACS3-HMAC-SHA256 in the Authorization header): the key and token are checked."""
        credential = authorization.split("Credential=", 1)[-1].split(",", 1)[0].strip()
        key = self.keys.get(credential)
        if key is None:
            raise FakeError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if key.get("token") and headers.get("x-acs-security-token") != key["token"]:
            raise FakeError(400, "InvalidSecurityToken.MismatchWithAccessKey", "The security token does not match.")
        return key

    def check_rpc_signature(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        key_id = params.get("AccessKeyId", "")
        key = self.keys.get(key_id)
        if key is None:
            raise FakeError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if key.get("token") and params.get("SecurityToken") != key["token"]:
            raise FakeError(400, "InvalidSecurityToken.MismatchWithAccessKey", "The security token does not match.")
        string_to_sign = rpc_string_to_sign(method, params)
        if params.get("Signature") != rpc_signature(key["secret"], string_to_sign):
            raise FakeError(
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
            )
        return key

    # -- paging --

    def page_by_number(self, items: list, params: dict, container: str, item: str) -> dict:
        number = max(1, int(params.get("PageNumber") or 1))
        size = min(int(params.get("PageSize") or 10), self.max_page_size)
        chunk = items[(number - 1) * size : number * size]
        return {"PageNumber": number, "PageSize": size, "TotalCount": len(items), **_list(container, item, chunk)}

    def page_by_token(self, items: list, params: dict, container: str, item: str) -> dict:
        start = int(params.get("NextToken") or 0)
        size = min(int(params.get("MaxResults") or 10), self.max_page_size)
        chunk = items[start : start + size]
        token = str(start + size) if start + size < len(items) else ""
        return {"NextToken": token, "TotalCount": len(items), **_list(container, item, chunk)}

    def page_by_marker(self, items: list, params: dict, container: str, item: str) -> dict:
        start = int(params.get("Marker") or 0)
        size = min(int(params.get("MaxItems") or 100), self.max_page_size)
        chunk = items[start : start + size]
        truncated = start + size < len(items)
        return {
            "IsTruncated": truncated,
            "Marker": str(start + size) if truncated else "",
            **_list(container, item, chunk),
        }

    # -- RPC dispatch --

    def rpc(self, method: str, params: dict[str, str], action: str, headers: Any = None) -> dict:
        product = VERSIONS.get(params.get("Version", ""), "unknown")
        self.calls.append((product, action, dict(params)))
        authorization = (headers or {}).get("Authorization", "") or ""
        if authorization.startswith("ACS3-"):
            key = self.check_header_signature(authorization, headers)
        else:
            key = self.check_rpc_signature(method, params)
        failure = self._take_failure(action)
        if failure:
            raise FakeError(failure[0], failure[1], "injected by the test")
        handler: Callable | None = getattr(self, f"_{product}_{action}", None)
        if handler is None:
            raise FakeError(400, "InvalidAction.NotFound", f"{product} has no action {action}")
        return handler(params, key)

    def _regional(self, kind: str, params: dict) -> list[dict]:
        """The state's records of the request's region, not copied: handlers build new dicts to change one."""
        region = params.get("RegionId")
        return [r for r in self.state[kind] if r.get("RegionId") == region]

    # STS
    def _sts_GetCallerIdentity(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {
            "AccountId": ACCOUNT_ID,
            "Arn": key["arn"],
            "IdentityType": key["kind"],
            "PrincipalId": key["arn"].rsplit("/", 1)[-1],
            "UserId": "2000",
        }

    def _sts_AssumeRole(self, params: dict, key: dict) -> dict:  # noqa: N802
        role_arn = params.get("RoleArn", "")
        if role_arn not in self.roles:
            raise FakeError(404, "EntityNotExist.Role", f"The role not exists: {role_arn}.")
        new_id, secret, token = f"STS.{uuid.uuid4().hex[:16]}", uuid.uuid4().hex, uuid.uuid4().hex
        session = params.get("RoleSessionName", "")
        self.keys[new_id] = {
            "secret": secret,
            "token": token,
            "kind": "AssumedRoleUser",
            "arn": f"acs:ram::{ACCOUNT_ID}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session}",
        }
        return {
            "Credentials": {
                "AccessKeyId": new_id,
                "AccessKeySecret": secret,
                "SecurityToken": token,
                "Expiration": "2099-01-01T00:00:00Z",
            },
            "AssumedRoleUser": {"Arn": self.keys[new_id]["arn"], "AssumedRoleId": "300:" + session},
        }

    # ECS
    def _ecs_DescribeRegions(self, params: dict, key: dict) -> dict:  # noqa: N802
        return _list("Regions", "Region", copy.deepcopy(self.state["regions"]))

    def _ecs_DescribeInstances(self, params: dict, key: dict) -> dict:  # noqa: N802
        instances = [{k: v for k, v in i.items() if k != "RamRoleName"} for i in self._regional("instances", params)]
        return self.page_by_number(instances, params, "Instances", "Instance")

    def _ecs_DescribeInstanceRamRole(self, params: dict, key: dict) -> dict:  # noqa: N802
        wanted = set(json.loads(params.get("InstanceIds") or "[]"))
        sets = [
            {"InstanceId": i["InstanceId"], "RamRoleName": i.get("RamRoleName", "")}
            for i in self._regional("instances", params)
            if i["InstanceId"] in wanted and i.get("RamRoleName")
        ]
        return {
            "TotalCount": len(sets),
            "RegionId": params.get("RegionId"),
            **_list("InstanceRamRoleSets", "InstanceRamRoleSet", sets),
        }

    def _ecs_DescribeSecurityGroups(self, params: dict, key: dict) -> dict:  # noqa: N802
        groups = [{k: v for k, v in g.items() if k != "Permissions"} for g in self._regional("security_groups", params)]
        return self.page_by_number(groups, params, "SecurityGroups", "SecurityGroup")

    def _ecs_DescribeSecurityGroupAttribute(self, params: dict, key: dict) -> dict:  # noqa: N802
        for group in self._regional("security_groups", params):
            if group["SecurityGroupId"] == params.get("SecurityGroupId"):
                attribute = {k: v for k, v in group.items() if k != "Permissions"}
                return {**attribute, **_list("Permissions", "Permission", group.get("Permissions", []))}
        raise FakeError(404, "InvalidSecurityGroupId.NotFound", "The security group does not exist.")

    def _ecs_DescribeDisks(self, params: dict, key: dict) -> dict:  # noqa: N802
        return self.page_by_token(self._regional("disks", params), params, "Disks", "Disk")

    def _ecs_DescribeSnapshots(self, params: dict, key: dict) -> dict:  # noqa: N802
        return self.page_by_number(self._regional("snapshots", params), params, "Snapshots", "Snapshot")

    # VPC
    def _vpc_DescribeVpcs(self, params: dict, key: dict) -> dict:  # noqa: N802
        return self.page_by_number(self._regional("vpcs", params), params, "Vpcs", "Vpc")

    def _vpc_DescribeVSwitches(self, params: dict, key: dict) -> dict:  # noqa: N802
        return self.page_by_number(self._regional("vswitches", params), params, "VSwitches", "VSwitch")

    def _vpc_DescribeFlowLogs(self, params: dict, key: dict) -> dict:  # noqa: N802
        logs = self._regional("flow_logs", params)
        return {"Success": "true", **self.page_by_number(logs, params, "FlowLogs", "FlowLog")}

    # RAM
    def _user(self, params: dict) -> dict:
        for user in self.state["users"]:
            if user["UserName"] == params.get("UserName"):
                return user
        raise FakeError(404, "EntityNotExist.User", f"The user not exists: {params.get('UserName')}.")

    def _ram_ListUsers(self, params: dict, key: dict) -> dict:  # noqa: N802
        fields = ("UserId", "UserName", "DisplayName", "CreateDate", "UpdateDate", "Comments")
        users = [{k: u[k] for k in fields if k in u} for u in self.state["users"]]
        return self.page_by_marker(users, params, "Users", "User")

    def _ram_GetUser(self, params: dict, key: dict) -> dict:  # noqa: N802
        user = self._user(params)
        fields = ("UserId", "UserName", "DisplayName", "CreateDate", "LastLoginDate")
        return {"User": {k: user.get(k) for k in fields if user.get(k) is not None}}

    def _ram_GetLoginProfile(self, params: dict, key: dict) -> dict:  # noqa: N802
        user = self._user(params)
        if not user.get("LoginProfile"):
            raise FakeError(404, "EntityNotExist.User.LoginProfile", "The login profile does not exist.")
        return {"LoginProfile": {"UserName": user["UserName"], **user["LoginProfile"]}}

    def _ram_GetUserMFAInfo(self, params: dict, key: dict) -> dict:  # noqa: N802
        user = self._user(params)
        if not user.get("MFADevice"):
            raise FakeError(404, "EntityNotExist.User.MFADevice", "The user has no MFA device.")
        return {"MFADevice": user["MFADevice"]}

    def _ram_ListAccessKeys(self, params: dict, key: dict) -> dict:  # noqa: N802
        keys = [{k: v for k, v in ak.items() if k != "LastUsedDate"} for ak in self._user(params)["AccessKeys"]]
        return _list("AccessKeys", "AccessKey", keys)

    def _ram_GetAccessKeyLastUsed(self, params: dict, key: dict) -> dict:  # noqa: N802
        for ak in self._user(params)["AccessKeys"]:
            if ak["AccessKeyId"] == params.get("UserAccessKeyId"):
                return {"AccessKeyLastUsed": {"LastUsedDate": ak.get("LastUsedDate") or ""}}
        raise FakeError(404, "EntityNotExist.User.AccessKey", "The access key does not exist.")

    def _ram_ListPoliciesForUser(self, params: dict, key: dict) -> dict:  # noqa: N802
        return _list("Policies", "Policy", copy.deepcopy(self._user(params)["Policies"]))

    def _ram_ListGroupsForUser(self, params: dict, key: dict) -> dict:  # noqa: N802
        return _list("Groups", "Group", copy.deepcopy(self._user(params)["Groups"]))

    def _ram_ListPolicies(self, params: dict, key: dict) -> dict:  # noqa: N802
        wanted = params.get("PolicyType")
        policies = [
            {k: v for k, v in p.items() if k != "Document"}
            for p in self.state["policies"]
            if not wanted or p["PolicyType"] == wanted
        ]
        return self.page_by_marker(policies, params, "Policies", "Policy")

    def _ram_GetPolicy(self, params: dict, key: dict) -> dict:  # noqa: N802
        for policy in self.state["policies"]:
            if policy["PolicyName"] == params.get("PolicyName") and policy["PolicyType"] == params.get("PolicyType"):
                meta = {k: v for k, v in policy.items() if k != "Document"}
                version = {
                    "VersionId": policy["DefaultVersion"],
                    "IsDefaultVersion": True,
                    "PolicyDocument": json.dumps(policy["Document"]),
                    "CreateDate": policy["UpdateDate"],
                }
                return {"Policy": meta, "DefaultPolicyVersion": version}
        raise FakeError(404, "EntityNotExist.Policy", "The policy does not exist.")

    def _ram_GetPasswordPolicy(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {"PasswordPolicy": copy.deepcopy(self.state["password_policy"])}

    def _ram_GetSecurityPreference(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {"SecurityPreference": copy.deepcopy(self.state["security_preference"])}

    # RDS
    _DB_FIELDS = (
        "DBInstanceId",
        "RegionId",
        "DBInstanceDescription",
        "Engine",
        "EngineVersion",
        "DBInstanceStatus",
        "DBInstanceNetType",
        "VpcId",
        "ZoneId",
        "Category",
        "CreateTime",
    )

    def _db(self, params: dict) -> dict:
        for db in self._regional("db_instances", params):
            if db["DBInstanceId"] == params.get("DBInstanceId"):
                return db
        raise FakeError(404, "InvalidDBInstanceId.NotFound", "The database instance does not exist.")

    def _rds_DescribeDBInstances(self, params: dict, key: dict) -> dict:  # noqa: N802
        dbs = [{k: db[k] for k in self._DB_FIELDS} for db in self._regional("db_instances", params)]
        body = self.page_by_number(dbs, params, "Items", "DBInstance")
        body["TotalRecordCount"] = body.pop("TotalCount")
        body["PageRecordCount"] = len(body["Items"]["DBInstance"])
        return body

    def _rds_DescribeDBInstanceAttribute(self, params: dict, key: dict) -> dict:  # noqa: N802
        db = self._db(params)
        attribute = {k: db[k] for k in self._DB_FIELDS}
        return _list("Items", "DBInstanceAttribute", [attribute])

    def _rds_DescribeBackupPolicy(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {
            "BackupRetentionPeriod": self._db(params)["BackupRetentionPeriod"],
            "PreferredBackupPeriod": "Monday,Thursday",
            "PreferredBackupTime": "02:00Z-03:00Z",
        }

    def _rds_DescribeDBInstanceNetInfo(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {
            "InstanceNetworkType": "VPC",
            **_list("DBInstanceNetInfos", "DBInstanceNetInfo", self._db(params)["NetInfo"]),
        }

    def _rds_DescribeDBInstanceIPArrayList(self, params: dict, key: dict) -> dict:  # noqa: N802
        return _list("Items", "DBInstanceIPArray", self._db(params)["IPArrays"])

    def _rds_DescribeDBInstanceTDE(self, params: dict, key: dict) -> dict:  # noqa: N802
        return {"TDEStatus": self._db(params)["TDEStatus"]}

    def _rds_DescribeDBInstanceSSL(self, params: dict, key: dict) -> dict:  # noqa: N802
        db = self._db(params)
        return {
            "SSLEnabled": db["SSLEnabled"],
            "ConnectionString": db["NetInfo"][0]["ConnectionString"],
            "RequireUpdate": "No",
        }

    # KMS
    def _kms_ListKeys(self, params: dict, key: dict) -> dict:  # noqa: N802
        keys = [
            {"KeyId": k["KeyId"], "KeyArn": f"acs:kms:{k['RegionId']}:{ACCOUNT_ID}:key/{k['KeyId']}"}
            for k in self._regional("kms_keys", params)
        ]
        return self.page_by_number(keys, params, "Keys", "Key")

    def _kms_DescribeKey(self, params: dict, key: dict) -> dict:  # noqa: N802
        for k in self._regional("kms_keys", params):
            if k["KeyId"] == params.get("KeyId"):
                metadata = {name: value for name, value in k.items() if name != "RegionId"}
                metadata["Arn"] = f"acs:kms:{k['RegionId']}:{ACCOUNT_ID}:key/{k['KeyId']}"
                return {"KeyMetadata": metadata}
        raise FakeError(404, "Forbidden.KeyNotFound", "The key does not exist.")

    # ActionTrail
    def _actiontrail_DescribeTrails(self, params: dict, key: dict) -> dict:  # noqa: N802
        trails = [
            {k: v for k, v in t.items() if k != "IsLogging"}
            for t in self.state["trails"]
            if t["HomeRegion"] == params.get("RegionId")
        ]
        return {"TrailList": copy.deepcopy(trails)}

    def _actiontrail_GetTrailStatus(self, params: dict, key: dict) -> dict:  # noqa: N802
        for trail in self.state["trails"]:
            if trail["Name"] == params.get("Name"):
                return {"IsLogging": trail["IsLogging"], "LatestDeliveryTime": "2026-03-01T00:00:00Z"}
        raise FakeError(404, "TrailNotFoundException", "The trail does not exist.")

    # SLB
    def _lb(self, params: dict) -> dict:
        for lb in self._regional("load_balancers", params):
            if lb["LoadBalancerId"] == params.get("LoadBalancerId"):
                return lb
        raise FakeError(404, "InvalidLoadBalancerId.NotFound", "The load balancer does not exist.")

    def _slb_DescribeLoadBalancers(self, params: dict, key: dict) -> dict:  # noqa: N802
        lbs = [{k: v for k, v in lb.items() if k != "Listeners"} for lb in self._regional("load_balancers", params)]
        return self.page_by_number(lbs, params, "LoadBalancers", "LoadBalancer")

    def _slb_DescribeLoadBalancerAttribute(self, params: dict, key: dict) -> dict:  # noqa: N802
        lb = self._lb(params)
        ports = [
            {"ListenerPort": x["ListenerPort"], "ListenerProtocol": x["ListenerProtocol"]} for x in lb["Listeners"]
        ]
        attribute = {k: v for k, v in lb.items() if k != "Listeners"}
        return {**attribute, **_list("ListenerPortsAndProtocol", "ListenerPortAndProtocol", ports)}

    def _slb_DescribeLoadBalancerHTTPSListenerAttribute(self, params: dict, key: dict) -> dict:  # noqa: N802
        for listener in self._lb(params)["Listeners"]:
            if (
                str(listener["ListenerPort"]) == str(params.get("ListenerPort"))
                and listener["ListenerProtocol"] == "https"
            ):
                return {
                    "ListenerPort": listener["ListenerPort"],
                    "Status": "running",
                    "TLSCipherPolicy": listener["TLSCipherPolicy"],
                    "ServerCertificateId": listener["ServerCertificateId"],
                }
        raise FakeError(404, "InvalidParameter", "No HTTPS listener on that port.")

    # -- OSS --

    def oss(self, method: str, path: str, query: dict[str, str], headers: Any) -> tuple[int, str]:
        auth = headers.get("Authorization", "")
        key_id = auth.split(" ", 1)[-1].split(":", 1)[0] if auth.startswith("OSS ") else ""
        if key_id.startswith("STS.") and headers.get("x-oss-security-token") != self.keys.get(key_id, {}).get("token"):
            raise FakeError(403, "InvalidAccessKeyId", "The security token does not match.")
        bucket_name = path.strip("/").split("/", 1)[0]
        operation = "ListBuckets" if not bucket_name else self._oss_operation(query)
        self.calls.append(("oss", operation, {"bucket": bucket_name, **query}))
        if key_id not in self.keys:
            raise FakeError(
                403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records."
            )
        failure = self._take_failure(operation)
        if failure:
            raise FakeError(failure[0], "ServiceUnavailable" if failure[0] >= 500 else failure[1], "injected")
        if not bucket_name:
            return 200, self._oss_list_buckets(query)
        bucket = next((b for b in self.state["buckets"] if b["Name"] == bucket_name), None)
        if bucket is None:
            raise FakeError(404, "NoSuchBucket", "The specified bucket does not exist.")
        return 200, getattr(self, f"_oss_{operation}")(bucket)

    @staticmethod
    def _oss_operation(query: dict[str, str]) -> str:
        for name, operation in (
            ("acl", "GetBucketAcl"),
            ("policy", "GetBucketPolicy"),
            ("encryption", "GetBucketEncryption"),
            ("logging", "GetBucketLogging"),
            ("versioning", "GetBucketVersioning"),
        ):
            if name in query:
                return operation
        return "Unsupported"

    def _oss_list_buckets(self, query: dict[str, str]) -> str:
        names = sorted(self.state["buckets"], key=lambda b: b["Name"])
        marker = query.get("marker", "")
        remaining = [b for b in names if b["Name"] > marker]
        size = min(int(query.get("max-keys") or 100), self.max_page_size)
        chunk, truncated = remaining[:size], len(remaining) > size
        items = "".join(
            f"<Bucket><Name>{escape(b['Name'])}</Name><Location>{b['Location']}</Location>"
            f"<CreationDate>{b['CreationDate']}</CreationDate>"
            f"<ExtranetEndpoint>{b['Location']}.aliyuncs.com</ExtranetEndpoint>"
            f"<IntranetEndpoint>{b['Location']}-internal.aliyuncs.com</IntranetEndpoint>"
            f"<Region>{b['Location'].removeprefix('oss-')}</Region>"
            f"<StorageClass>{b['StorageClass']}</StorageClass></Bucket>"
            for b in chunk
        )
        next_marker = f"<NextMarker>{escape(chunk[-1]['Name'])}</NextMarker>" if truncated else ""
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult>'
            f"<Owner><ID>{ACCOUNT_ID}</ID><DisplayName>{ACCOUNT_ID}</DisplayName></Owner>"
            f"<IsTruncated>{str(truncated).lower()}</IsTruncated>{next_marker}"
            f"<Buckets>{items}</Buckets></ListAllMyBucketsResult>"
        )

    def _oss_GetBucketAcl(self, bucket: dict) -> str:  # noqa: N802
        return (
            f"<AccessControlPolicy><Owner><ID>{ACCOUNT_ID}</ID><DisplayName>{ACCOUNT_ID}</DisplayName></Owner>"
            f"<AccessControlList><Grant>{bucket['Acl']}</Grant></AccessControlList></AccessControlPolicy>"
        )

    def _oss_GetBucketPolicy(self, bucket: dict) -> str:  # noqa: N802
        if not bucket.get("Policy"):
            raise FakeError(404, "NoSuchBucketPolicy", "The bucket policy does not exist.")
        return json.dumps(bucket["Policy"])

    def _oss_GetBucketEncryption(self, bucket: dict) -> str:  # noqa: N802
        encryption = bucket.get("Encryption")
        if not encryption:
            raise FakeError(404, "NoSuchServerSideEncryptionRule", "The server side encryption rule does not exist.")
        kms = (
            f"<KMSMasterKeyID>{encryption['KMSMasterKeyID']}</KMSMasterKeyID>"
            if encryption.get("KMSMasterKeyID")
            else ""
        )
        return (
            "<ServerSideEncryptionRule><ApplyServerSideEncryptionByDefault>"
            f"<SSEAlgorithm>{encryption['SSEAlgorithm']}</SSEAlgorithm>{kms}"
            "</ApplyServerSideEncryptionByDefault></ServerSideEncryptionRule>"
        )

    def _oss_GetBucketLogging(self, bucket: dict) -> str:  # noqa: N802
        logging = bucket.get("Logging")
        inner = (
            f"<LoggingEnabled><TargetBucket>{logging['TargetBucket']}</TargetBucket>"
            f"<TargetPrefix>{logging['TargetPrefix']}</TargetPrefix></LoggingEnabled>"
            if logging
            else ""
        )
        return f"<BucketLoggingStatus>{inner}</BucketLoggingStatus>"

    def _oss_GetBucketVersioning(self, bucket: dict) -> str:  # noqa: N802
        status = f"<Status>{bucket['Versioning']}</Status>" if bucket.get("Versioning") else ""
        return f"<VersioningConfiguration>{status}</VersioningConfiguration>"

    def _oss_Unsupported(self, bucket: dict) -> str:  # noqa: N802
        raise FakeError(400, "NotImplemented", "The fake does not serve this OSS operation.")


class _Handler(BaseHTTPRequestHandler):
    fake: AlibabaFake
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, each answer waits for a delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        if self.fake.latency:
            time.sleep(self.fake.latency)
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if self.headers.get("Authorization", "").startswith("OSS"):
            self._handle_oss(parts.path, query)
            return
        params = dict(query)
        if body and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
            params.update(parse_qsl(body, keep_blank_values=True))
        action = params.get("Action") or self.headers.get("x-acs-action") or ""
        if "Version" not in params and self.headers.get("x-acs-version"):
            params["Version"] = self.headers["x-acs-version"]
        request_id = str(uuid.uuid4()).upper()
        try:
            answer = self.fake.rpc(self.command, params, action, self.headers)
            self._send(200, json.dumps({"RequestId": request_id, **answer}), "application/json")
        except FakeError as exc:
            error = {"RequestId": request_id, "HostId": "fake", "Code": exc.code, "Message": exc.message}
            self._send(exc.status, json.dumps(error), "application/json")

    def _handle_oss(self, path: str, query: dict[str, str]) -> None:
        request_id = uuid.uuid4().hex.upper()
        try:
            status, text = self.fake.oss(self.command, path, query, self.headers)
            kind = "application/json" if text.startswith("{") else "application/xml"
            self._send(status, text, kind, {"x-oss-request-id": request_id})
        except FakeError as exc:
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{exc.code}</Code>'
                f"<Message>{escape(exc.message)}</Message><RequestId>{request_id}</RequestId>"
                "<HostId>fake</HostId></Error>"
            )
            self._send(exc.status, xml, "application/xml", {"x-oss-request-id": request_id})

    def _send(self, status: int, text: str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

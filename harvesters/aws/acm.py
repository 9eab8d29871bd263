"""ACM certificates: domain, expiry, status, and whether anything uses them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from harvesters.aws.support import iso, json_safe, known, optional, tags_from_list
from harvesters.base import ResourceRecord, resource_type

if TYPE_CHECKING:  # the SDK is imported lazily: registering types must not load boto3
    from harvesters.aws.session import AwsContext

# ListCertificates hides non-RSA-2048 keys unless asked for every key type.
KEY_TYPES = [
    "RSA_1024",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_prime256v1",
    "EC_secp384r1",
    "EC_secp521r1",
]


@resource_type(
    "aws.acm.certificate",
    resource_type="certificate",
    service="acm",
    interval_minutes=60,
    permissions=("acm:ListCertificates", "acm:DescribeCertificate", "acm:ListTagsForCertificate"),
)
def collect_certificates(ctx: AwsContext, region: str) -> Iterator[ResourceRecord]:
    """ACM certificates (issued, imported, private): domain and alternative names, expiry, status, key algorithm,
    renewal eligibility, the resources using them."""
    acm = ctx.client("acm", region)
    paginator = acm.get_paginator("list_certificates")
    for page in paginator.paginate(Includes={"keyTypes": KEY_TYPES}):
        for summary in page.get("CertificateSummaryList", []):
            arn = summary["CertificateArn"]
            try:
                certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            except acm.exceptions.ResourceNotFoundException:
                continue  # deleted between the listing and now
            tags = optional(lambda arn=arn: acm.list_tags_for_certificate(CertificateArn=arn), what="ListTags")
            properties = {
                "domain": certificate.get("DomainName"),
                "expires_at": iso(certificate.get("NotAfter")),
                "status": certificate.get("Status"),
                # AWS specifics
                "alternative_names": certificate.get("SubjectAlternativeNames", []),
                "type": certificate.get("Type"),
                "key_algorithm": certificate.get("KeyAlgorithm"),
                "signature_algorithm": certificate.get("SignatureAlgorithm"),
                "issued_at": iso(certificate.get("IssuedAt") or certificate.get("ImportedAt")),
                "not_before": iso(certificate.get("NotBefore")),
                "in_use_by": sorted(certificate.get("InUseBy", [])),
                "renewal_eligibility": certificate.get("RenewalEligibility"),
                "transparency_logging": (certificate.get("Options") or {}).get(
                    "CertificateTransparencyLoggingPreference"
                ),
            }
            raw = json_safe(certificate)
            yield ResourceRecord(
                resource_type="certificate",
                native_type="aws.acm.certificate",
                region=region,
                native_id=arn,
                name=certificate.get("DomainName") or arn.rsplit("/", 1)[-1],
                properties=properties,
                raw=raw,
                tags=tags_from_list((known(tags) or {}).get("Tags")),
            )

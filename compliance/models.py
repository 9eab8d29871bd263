"""Compliance data: custom insights and packs, findings and their exemptions, trends, scorecards."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from compliance.schema import CLOUDS, SEVERITIES, DefinitionError, Insight, Pack, parse_insight, parse_pack


class CustomInsight(models.Model):
    """An organization's own insight; ``definition`` passed the same schema as the built-in YAML."""

    organization = models.ForeignKey("inventory.Organization", on_delete=models.CASCADE, related_name="custom_insights")
    insight_id = models.CharField(max_length=100)
    definition = models.JSONField()
    hash = models.CharField(max_length=32)
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "insight_id"], name="custom_insight_unique_in_org")
        ]

    def __str__(self) -> str:
        return self.insight_id

    def save(self, *args, **kwargs) -> None:
        """Validate against the insight schema first: an invalid definition raises DefinitionError, nothing is saved."""
        from compliance.library import builtin_insights

        insight = parse_insight(self.definition, source="custom")
        if insight.id in builtin_insights():
            raise DefinitionError([f"id: {insight.id!r} is the id of a built-in insight"])
        self.insight_id, self.hash = insight.id, insight.hash
        super().save(*args, **kwargs)

    def parse(self) -> Insight:
        return parse_insight(self.definition, source="custom", where=f"custom insight {self.insight_id}")


class CustomPack(models.Model):
    """An organization's own pack made from any insights (``definition`` follows the pack schema)."""

    organization = models.ForeignKey("inventory.Organization", on_delete=models.CASCADE, related_name="custom_packs")
    pack_id = models.CharField(max_length=100)
    definition = models.JSONField()
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "pack_id"], name="custom_pack_unique_in_org")]

    def __str__(self) -> str:
        return self.pack_id

    def save(self, *args, **kwargs) -> None:
        """Validate against the pack schema, with every insight known to the organization; else nothing is saved."""
        from compliance.library import insights_for

        pack = parse_pack(self.definition, source="custom", known_insights=set(insights_for(self.organization_id)))
        self.pack_id = pack.id
        super().save(*args, **kwargs)

    def parse(self) -> Pack:
        return parse_pack(self.definition, source="custom", where=f"custom pack {self.pack_id}")


class ExemptionQuerySet(models.QuerySet):
    def active(self, now: datetime | None = None) -> ExemptionQuerySet:
        now = now or timezone.now()
        return self.filter(starts_at__lte=now).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def inactive(self, now: datetime | None = None) -> ExemptionQuerySet:
        """Not yet started, expired or revoked (the complement of :meth:`active`)."""
        now = now or timezone.now()
        return self.filter(Q(starts_at__gt=now) | Q(expires_at__lte=now))


class Exemption(models.Model):
    """Accepts a finding: one resource × insight, or an insight × a rule (resource group, tag, name regex).

    Between ``starts_at`` and ``expires_at`` the findings it matches are shown as exempted; past
    ``expires_at`` it stops applying by itself (exemption status is decided at read time).
    Exempted findings are kept, never deleted.
    """

    organization = models.ForeignKey("inventory.Organization", on_delete=models.CASCADE, related_name="exemptions")
    insight_id = models.CharField(max_length=100)
    cloud = models.ForeignKey(
        "inventory.CloudAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="exemptions"
    )
    resource = models.ForeignKey(
        "inventory.Resource", null=True, blank=True, on_delete=models.CASCADE, related_name="exemptions"
    )
    resource_group = models.ForeignKey(
        "inventory.ResourceGroup", null=True, blank=True, on_delete=models.CASCADE, related_name="exemptions"
    )
    tag_key = models.CharField(max_length=128, blank=True)
    tag_value = models.CharField(max_length=256, blank=True)
    name_regex = models.CharField(max_length=256, blank=True)
    reason = models.TextField()
    approved_by = models.CharField(max_length=150)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ExemptionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["organization", "insight_id"], name="exemption_org_insight")]

    def __str__(self) -> str:
        return f"exemption {self.pk} of {self.insight_id}"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.starts_at <= now and (self.expires_at is None or self.expires_at > now)

    def resource_q(self, prefix: str = "resource__") -> Q:
        """The resources this exemption covers, as a Q on a model with a ``resource`` relation."""
        q = Q()
        if self.cloud_id:
            q &= Q(**{f"{prefix}cloud_id": self.cloud_id})
        if self.resource_id:
            q &= Q(**{f"{prefix}id": self.resource_id})
        if self.resource_group_id:
            q &= Q(**{f"{prefix}groups": self.resource_group_id})
        if self.tag_key:
            q &= Q(**{f"{prefix}tags__{self.tag_key}": self.tag_value})
        if self.name_regex:
            q &= Q(**{f"{prefix}name__regex": self.name_regex})
        return q

    def clean_scope(self) -> None:
        """Refuse an exemption without a scope (it would silently exempt a whole insight)."""
        if not (self.resource_id or self.resource_group_id or self.tag_key or self.name_regex):
            raise ValueError("an exemption needs a resource, a resource group, a tag or a name regex")


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class FindingQuerySet(models.QuerySet):
    def exempted(self, now: datetime | None = None) -> FindingQuerySet:
        now = now or timezone.now()
        return self.filter(exemption__isnull=False, exemption__starts_at__lte=now).filter(
            Q(exemption__expires_at__isnull=True) | Q(exemption__expires_at__gt=now)
        )

    def not_exempted(self, now: datetime | None = None) -> FindingQuerySet:
        return self.exclude(pk__in=self.exempted(now).values("pk"))


class Finding(models.Model):
    """A resource failing an insight. Resolved (kept) when it passes or disappears; re-opened when it fails again.

    ``last_seen`` is written when the resource is evaluated; an open finding whose resource did not
    change is still failing at every later evaluation of its cloud, so readers use
    :meth:`effective_last_seen` (an incremental run does not rewrite every open row).
    """

    # No separate FK indexes: (cloud, status, insight_id, resource_id) and the unique (resource, insight_id)
    # lead with them, and every index less makes inserting a hundred thousand findings cheaper.
    cloud = models.ForeignKey(
        "inventory.CloudAccount", on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    resource = models.ForeignKey(
        "inventory.Resource", on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    insight_id = models.CharField(max_length=100)
    severity = models.CharField(max_length=10, choices=[(s, s) for s in SEVERITIES])
    status = models.CharField(max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    exemption = models.ForeignKey(Exemption, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")

    objects = FindingQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "insight_id"], name="finding_unique")]
        indexes = [
            # Covers the per-evaluation read of a cloud's open findings (resource_id, insight_id) on its own.
            models.Index(fields=["cloud", "status", "insight_id", "resource_id"], name="finding_cloud_status"),
            models.Index(fields=["insight_id", "status"], name="finding_insight_status"),
        ]

    def __str__(self) -> str:
        return f"{self.insight_id} on resource {self.resource_id} ({self.status})"

    def is_exempted(self, now: datetime | None = None) -> bool:
        return self.exemption is not None and self.exemption.is_active(now)

    def effective_last_seen(self, cloud_last_evaluated_at: datetime | None) -> datetime:
        if self.status == FindingStatus.OPEN and cloud_last_evaluated_at and cloud_last_evaluated_at > self.last_seen:
            return cloud_last_evaluated_at
        return self.last_seen


class HistoryScope(models.TextChoices):
    CLOUD = "cloud", "Cloud"
    INSIGHT = "insight", "Insight"
    PACK = "pack", "Pack"


class DailyCount(models.Model):
    """One day's finding counts for a cloud, or one insight / pack in it (trends)."""

    cloud = models.ForeignKey("inventory.CloudAccount", on_delete=models.CASCADE, related_name="finding_history")
    date = models.DateField()
    scope = models.CharField(max_length=10, choices=HistoryScope.choices)
    scope_id = models.CharField(max_length=100, blank=True, help_text="insight or pack id; empty for the cloud")
    failed = models.PositiveIntegerField(default=0)
    exempted = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0, help_text="findings resolved that day")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cloud", "date", "scope", "scope_id"], name="daily_count_unique")
        ]
        indexes = [models.Index(fields=["scope", "scope_id", "date"], name="daily_scope_date")]


class Scorecard(models.Model):
    """A pack's result on one cloud: per control passed / failed / exempted resources, and a score."""

    cloud = models.ForeignKey("inventory.CloudAccount", on_delete=models.CASCADE, related_name="scorecards")
    pack_id = models.CharField(max_length=100)
    computed_at = models.DateTimeField(default=timezone.now)
    score = models.FloatField(help_text="percent of evaluated resource checks that pass (exempted count as passing)")
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    exempted = models.PositiveIntegerField(default=0)
    #: {control_id: {"title", "status": pass|fail|manual|not-covered|not-applicable, "passed", "failed", "exempted"}}
    controls = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cloud", "pack_id"], name="scorecard_unique")]


class DailyScore(models.Model):
    """A pack's scorecard totals on one cloud for one day (the last evaluation of that day wins).

    Written with the scorecards, one upsert per evaluation, so the dashboard draws score trends from
    a few rows per day instead of replaying findings. Sums over clouds give the score of any set of them.
    """

    cloud = models.ForeignKey("inventory.CloudAccount", on_delete=models.CASCADE, related_name="score_history")
    pack_id = models.CharField(max_length=100)
    date = models.DateField()
    score = models.FloatField()
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    exempted = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cloud", "pack_id", "date"], name="daily_score_unique")]
        indexes = [models.Index(fields=["date", "pack_id"], name="daily_score_date_pack")]


class EvaluationState(models.Model):
    """Where incremental evaluation of one cloud resumes, and which insight versions it used."""

    cloud = models.OneToOneField("inventory.CloudAccount", on_delete=models.CASCADE, related_name="evaluation_state")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)
    insight_hashes = models.JSONField(default=dict, help_text="{insight id: hash} used by the last evaluation")
    last_counts = models.JSONField(default=dict, blank=True)
    #: The open findings after the last run (zlib-compressed JSON {insight id: [resource ids]}), so that an
    #: incremental run updates scorecards and history from its own changes instead of re-reading every finding.
    open_findings_cache = models.BinaryField(null=True, blank=True)


PROVIDERS = CLOUDS

"""Jobs (every background unit of work) and the heartbeats of the processes that run them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from scheduler.queues import PRIORITIES

LOG_LIMIT = 20_000  # characters of log kept per job; older lines are dropped first


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(models.Model):
    kind = models.CharField(max_length=64)
    priority = models.CharField(max_length=2, choices=[(p, p) for p in PRIORITIES])
    arguments = models.JSONField(default=dict, blank=True)
    dedup_key = models.CharField(max_length=255, blank=True, default="")
    # The dedup key while the job is queued or running, NULL after: the unique index makes
    # "one active job per key" hold under concurrent enqueues (NULLs never collide).
    active_key = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)
    # Bumped at every send; a message carries it and only the latest one may claim the job,
    # so a stale or redelivered message never runs a job a second time.
    dispatch = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    organization = models.ForeignKey("inventory.Organization", null=True, blank=True, on_delete=models.CASCADE)
    cloud = models.ForeignKey(
        "inventory.CloudAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    requested_by = models.CharField(max_length=150, blank=True, help_text="user name, or 'scheduler'")
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "priority", "enqueued_at"], name="job_status_priority"),
            models.Index(fields=["cloud", "kind", "status"], name="job_cloud_kind"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} [{self.priority}] {self.status}"

    def write_log(self, line: str) -> None:
        """Append a line to the job's bounded log (older lines are dropped first)."""
        from scheduler.runner import append_log

        append_log(self, line)

    @property
    def progress(self) -> dict | None:
        """How far a running job is ({"done", "total", "unit"}), if its kind reports it."""
        if self.status != JobStatus.RUNNING or not isinstance(self.result, dict):
            return None
        return self.result.get("progress")

    @property
    def wait_seconds(self) -> float | None:
        return (self.started_at - self.enqueued_at).total_seconds() if self.started_at else None

    @property
    def run_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class ProcessRole(models.TextChoices):
    SCHEDULER = "scheduler", "Scheduler"
    WORKER = "worker", "Worker"


class ProcessHeartbeat(models.Model):
    """A running scheduler or worker says it is alive every few seconds (shown by /Status)."""

    role = models.CharField(max_length=16, choices=ProcessRole.choices)
    name = models.CharField(max_length=255, unique=True, help_text="host:pid or the Celery node name")
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)


class HarvestStrategy(models.Model):
    """How one cloud is harvested: interval overrides per type, disabled regions, on/off.

    ``intervals`` maps a native type (``aws.s3.bucket``) or a normalized type (``storage_container``)
    to minutes; what it does not name uses the resource type's default interval.
    """

    cloud = models.OneToOneField("inventory.CloudAccount", on_delete=models.CASCADE, related_name="harvest_strategy")
    enabled = models.BooleanField(default=True)
    intervals = models.JSONField(default=dict, blank=True)
    disabled_regions = models.JSONField(default=list, blank=True)
    dynamic = models.BooleanField(default=True, help_text="harvest types found empty less often, up to once a day")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"harvest strategy of cloud {self.cloud_id}"


class HarvestState(models.Model):
    """When one (cloud, region, native type) was last harvested and is next due."""

    cloud = models.ForeignKey("inventory.CloudAccount", on_delete=models.CASCADE, related_name="harvest_states")
    region = models.CharField(max_length=64)
    native_type = models.CharField(max_length=128)
    next_due_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_count = models.IntegerField(null=True, blank=True, help_text="live resources after the last harvest")
    empty_runs = models.PositiveIntegerField(default=0, help_text="harvests in a row that found nothing")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cloud", "region", "native_type"], name="harvest_state_unique")]


class SchedulerLease(models.Model):
    """The leader lease when there is no Redis (embedded broker): one row, taken by a conditional UPDATE."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(default=timezone.now)

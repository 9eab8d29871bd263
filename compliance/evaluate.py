"""Evaluate a cloud's resources against its insights and keep findings, history and scorecards current.

Incremental by default: resources created, modified or deleted since the last evaluation
(``Resource.updated_at``, set by the sync pipeline) against every insight, plus every live
resource against insights added or changed since then (compared by hash). ``full=True``
re-evaluates everything. Resources are read in primary-key pages and findings are written in
bulk per page: ``bulk_create`` for new ones, one ``UPDATE … WHERE id IN`` per batch for
resolved / re-opened ones.
"""

from __future__ import annotations

import json
import logging
import re
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, TextField, Value
from django.db.models.functions import Cast
from django.utils import timezone

from compliance import findings_flag
from compliance.filters import Context
from compliance.library import applicable, insights_for, packs_for
from compliance.models import (
    DailyCount,
    DailyScore,
    EvaluationState,
    Exemption,
    Finding,
    FindingStatus,
    HistoryScope,
    Scorecard,
)
from compliance.schema import Insight, Pack
from insightcloud.inventory.models import CloudAccount, Resource

logger = logging.getLogger(__name__)

PAGE_SIZE = 2000
OPEN = FindingStatus.OPEN.value
WRITE_BATCH = 1000


@dataclass
class InsightCounts:
    evaluated: int = 0
    failing: int = 0  # of the resources evaluated this run
    new: int = 0
    reopened: int = 0
    resolved: int = 0
    open: int = 0  # open findings after the run, all resources

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class EvaluationResult:
    cloud_id: int
    full: bool
    resources: int = 0
    evaluations: int = 0
    changed_insights: list[str] = field(default_factory=list)
    removed_insights: list[str] = field(default_factory=list)
    insights: dict[str, InsightCounts] = field(default_factory=lambda: defaultdict(InsightCounts))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    phases: dict[str, float] = field(
        default_factory=dict
    )  # seconds per step, for the job log and benchmarks  # insight -> resources it could not decide

    def as_dict(self) -> dict:
        return {
            "cloud_id": self.cloud_id,
            "full": self.full,
            "resources": self.resources,
            "evaluations": self.evaluations,
            "changed_insights": self.changed_insights,
            "removed_insights": self.removed_insights,
            "insights": {key: counts.as_dict() for key, counts in sorted(self.insights.items())},
            "errors": dict(self.errors),
            "phases": {key: round(value, 3) for key, value in self.phases.items()},
        }


def evaluate_cloud(
    cloud: CloudAccount | int,
    *,
    full: bool = False,
    now: datetime | None = None,
    insights: dict[str, Insight] | None = None,
    log: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Evaluate one cloud; ``insights`` overrides the catalog (tests, benchmark)."""
    if not isinstance(cloud, CloudAccount):
        cloud = CloudAccount.objects.get(pk=cloud)
    started = now or timezone.now()
    log = log or (lambda line: logger.info("cloud %s: %s", cloud.pk, line))
    catalog = applicable(insights if insights is not None else insights_for(cloud.organization_id), cloud.provider)
    state, _ = EvaluationState.objects.get_or_create(cloud=cloud)
    last = state.last_evaluated_at
    full = full or last is None
    hashes = {key: insight.hash for key, insight in catalog.items()}
    changed = set(hashes) if full else {key for key, value in hashes.items() if state.insight_hashes.get(key) != value}
    removed = sorted(set(state.insight_hashes) - set(hashes))
    result = EvaluationResult(cloud.pk, full, changed_insights=sorted(changed), removed_insights=removed)

    clock = time.perf_counter()
    if removed:
        _resolve(Finding.objects.filter(cloud=cloud, insight_id__in=removed, status=FindingStatus.OPEN), started)
    edited = [key for key in hashes if state.insight_hashes.get(key, hashes[key]) != hashes[key]]
    for key in edited:
        insight = catalog[key]
        # Findings carry the severity (for filtering), and resources of a type the insight no longer covers pass.
        Finding.objects.filter(cloud=cloud, insight_id=key).exclude(severity=insight.severity).update(
            severity=insight.severity
        )
        dropped = Finding.objects.filter(cloud=cloud, insight_id=key, status=FindingStatus.OPEN).exclude(
            resource__resource_type__in=insight.resource_types
        )
        _resolve(dropped, started)
    writer = _FindingWriter(cloud, catalog, started, result)
    all_by_type = _by_type(catalog.values())
    changed_by_type = _by_type(catalog[key] for key in changed)

    resources = Resource.objects.filter(cloud=cloud)
    if not full:
        resources = resources.filter(
            Q(updated_at__gt=last) | Q(resource_type__in=list(changed_by_type), deleted_at__isnull=True)
        )
    context = Context(account_id=cloud.account_id, now=started)
    # Booleans computed by the database and properties read as text: converting 200k timestamps and
    # JSON values through the ORM's field converters costs more than evaluating them.
    fresh = ExpressionWrapper(Q(updated_at__gt=last), output_field=BooleanField()) if not full else Value(True)
    created = ExpressionWrapper(Q(first_seen__gt=last), output_field=BooleanField()) if not full else Value(True)
    resources = resources.annotate(
        properties_text=Cast("properties", TextField()),
        gone=ExpressionWrapper(Q(deleted_at__isnull=False), output_field=BooleanField()),
        fresh=fresh,
        created=created,
    )
    # Live resources per type (for scorecards) only change when resources appear or disappear.
    existence_changed = full
    last_pk = 0
    while True:
        page = list(
            resources.filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("id", "resource_type", "properties_text", "gone", "fresh", "created", "has_open_findings")[
                :PAGE_SIZE
            ]
        )
        if not page:
            break
        last_pk = page[-1][0]
        outcomes: list[tuple[int, list[tuple[str, bool]]]] = []
        deleted: list[int] = []
        flagged = {row[0] for row in page if row[6]}  # the inventory's has-findings flag as stored
        for rid, rtype, text, gone, changed_since, is_new, _ in page:
            if gone or is_new:
                existence_changed = True
            if gone:
                deleted.append(rid)
                continue
            candidates = all_by_type.get(rtype, ()) if changed_since else changed_by_type.get(rtype, ())
            if not candidates:
                continue
            props = _load(text)
            try:
                checks = [(key, bool(predicate(props, context))) for key, predicate in candidates]
            except Exception:  # malformed properties: check one by one, skip what cannot be decided
                checks = _check_carefully(rid, props, candidates, context, result, log)
            outcomes.append((rid, checks))
        result.resources += len(page)
        writer.write_page(outcomes, deleted, flagged)
        if len(page) < PAGE_SIZE:
            break

    # Open findings of resources not read this run are unchanged, so still failing: their rows are not
    # rewritten (that would make an incremental run cost as much as a full one); readers take
    # last_seen as the cloud's last evaluation for open findings (see Finding.effective_last_seen).
    result.phases["evaluate_and_write"] = time.perf_counter() - clock
    result.phases["of_which_findings_flag"] = writer.flag_seconds
    clock = time.perf_counter()
    apply_exemptions(cloud, started)
    result.phases["exemptions"] = time.perf_counter() - clock
    clock = time.perf_counter()
    cached = None if full or removed or edited else OpenFindings.load(state.open_findings_cache)
    open_findings = None
    if cached is not None:
        open_findings = _open_findings_from_cache(cloud, started, cached, writer.opened, writer.closed)
    if open_findings is None:
        open_findings = _open_findings(cloud, started)
    failed_counts, exempted_counts = open_findings.counts()
    for key in catalog:
        result.insights[key].open = failed_counts.get(key, 0) + exempted_counts.get(key, 0)
    result.phases["read_open_findings"] = time.perf_counter() - clock
    clock = time.perf_counter()
    packs = packs_for(cloud.organization_id)
    record_history(cloud, catalog, packs, started, open_findings)
    result.phases["history"] = time.perf_counter() - clock
    clock = time.perf_counter()
    cached_types = state.last_counts.get("live_by_type")
    live_by_type = cached_types if cached_types is not None and not existence_changed else live_resources_by_type(cloud)
    compute_scorecards(cloud, catalog, packs, started, open_findings, live_by_type)
    result.phases["scorecards"] = time.perf_counter() - clock

    state.open_findings_cache = open_findings.dump()
    state.last_evaluated_at = started
    state.insight_hashes = hashes
    if full:
        state.last_full_at = started
    state.last_counts = {
        "resources": result.resources,
        "evaluations": result.evaluations,
        "live_by_type": live_by_type,
    }
    state.save()
    log(
        f"evaluated {result.resources} resources, {result.evaluations} checks "
        f"({'full' if full else 'incremental'}, {len(changed)} insights new or changed); seconds: "
        + ", ".join(f"{key} {value:.2f}" for key, value in result.phases.items())
    )
    return result


def _load(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_carefully(
    rid: int, props: dict, candidates: list, context: Context, result: EvaluationResult, log: Callable[[str], None]
) -> list[tuple[str, bool]]:
    """Evaluate one resource insight by insight; an insight that raises is left undecided (finding unchanged)."""
    checks = []
    for key, predicate in candidates:
        try:
            checks.append((key, bool(predicate(props, context))))
        except Exception as exc:
            result.errors[key] += 1
            if result.errors[key] == 1:
                log(f"insight {key} could not evaluate resource {rid}: {type(exc).__name__}: {exc}")
    return checks


def _by_type(insights: Iterable[Insight]) -> dict[str, list[tuple[str, Callable]]]:
    grouped: dict[str, list[tuple[str, Callable]]] = defaultdict(list)
    for insight in insights:
        for resource_type in insight.resource_types:
            grouped[resource_type].append((insight.id, insight.predicate))
    return dict(grouped)


class _FindingWriter:
    """Turns one page of outcomes into bulk creates and batched updates."""

    def __init__(self, cloud: CloudAccount, catalog: dict[str, Insight], now: datetime, result: EvaluationResult):
        self.cloud = cloud
        self.severity = {key: insight.severity for key, insight in catalog.items()}
        self.now = now
        self.result = result
        # (resource, insight) pairs that became open / resolved this run, to update the cached open set.
        self.opened: list[tuple[int, str]] = []
        self.closed: list[tuple[int, str]] = []
        self.flag_seconds = 0.0  # part of evaluate_and_write spent on the inventory's has-findings flag

    def write_page(
        self, outcomes: list[tuple[int, list[tuple[str, bool]]]], deleted: list[int], flagged: set[int]
    ) -> None:
        """``flagged``: the resources of the page whose has-findings flag is set."""
        resource_ids = [rid for rid, _ in outcomes] + deleted
        if not resource_ids:
            return
        existing: dict[tuple[int, str], tuple[int, str]] = {
            (rid, iid): (fid, status) for fid, rid, iid, status in _existing_findings(resource_ids)
        }
        create: list[tuple] = []
        resolve: list[int] = []
        reopen: list[int] = []
        counts = self.result.insights
        opened_before, closed_before = len(self.opened), len(self.closed)
        for rid, checks in outcomes:
            for iid, fails in checks:
                counted = counts[iid]
                counted.evaluated += 1
                found = existing.get((rid, iid))
                if fails:
                    counted.failing += 1
                    if found is None:
                        counted.new += 1
                        create.append((rid, iid, self.severity[iid]))
                        self.opened.append((rid, iid))
                    elif found[1] == FindingStatus.RESOLVED:
                        counted.reopened += 1
                        reopen.append(found[0])
                        self.opened.append((rid, iid))
                elif found is not None and found[1] == FindingStatus.OPEN:
                    counted.resolved += 1
                    resolve.append(found[0])
                    self.closed.append((rid, iid))
            self.result.evaluations += len(checks)
        gone = set(deleted)
        for (rid, iid), (fid, status) in existing.items():
            if rid in gone and status == FindingStatus.OPEN:
                counts[iid].resolved += 1
                resolve.append(fid)
                self.closed.append((rid, iid))
        # The inventory's has-findings flag can change only for resources whose findings opened or
        # resolved; it is written only where the answer differs from the flag read with the page. The
        # database is asked only where the answer is not known: a new finding is never exempted yet.
        changed = self._changed_since(opened_before, closed_before)
        got_new = {rid for rid, _, _ in create}
        with transaction.atomic():
            for start in range(0, len(create), WRITE_BATCH):
                _insert_findings(self.cloud.pk, create[start : start + WRITE_BATCH], self.now)
            for batch in _batches(resolve):
                Finding.objects.filter(pk__in=batch).update(status=FindingStatus.RESOLVED, resolved_at=self.now)
            for batch in _batches(reopen):
                Finding.objects.filter(pk__in=batch).update(
                    status=FindingStatus.OPEN,
                    resolved_at=None,
                    last_seen=self.now,
                    reopened_count=F("reopened_count") + 1,
                )
            clock = time.perf_counter()
            flagged_after = (changed & got_new) | findings_flag.flagged_among(changed - got_new, self.now)
            findings_flag.write_flips(flagged & changed, flagged_after)
            self.flag_seconds += time.perf_counter() - clock

    def _changed_since(self, opened_before: int, closed_before: int) -> set[int]:
        return {rid for rid, _ in self.opened[opened_before:]} | {rid for rid, _ in self.closed[closed_before:]}


_TABLE = Finding._meta.db_table
_INSERT_COLUMNS = ("cloud_id", "resource_id", "insight_id", "severity", "first_seen", "last_seen", "status")
_SAFE_WORD = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*$")
_SAFE_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,6})?$")


def _existing_findings(resource_ids: list[int]) -> list[tuple[int, int, str, str]]:
    """(id, resource id, insight id, status) of every finding of these resources."""
    quote = connection.ops.quote_name
    ids = ",".join(str(int(rid)) for rid in resource_ids)  # ints from the database, inlined
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('resource_id')}, {quote('insight_id')}, {quote('status')} "
            f"FROM {quote(_TABLE)} WHERE {quote('resource_id')} IN ({ids})"
        )
        return cursor.fetchall()


def _insert_findings(cloud_id: int, rows: list[tuple[int, str, str]], now: datetime) -> None:
    """One multi-row INSERT of new open findings: ``rows`` are (resource id, insight id, severity).

    Equivalent to ``Finding.objects.bulk_create`` but built once per batch: at a hundred thousand
    findings Django's per-field preparation and the driver's per-value escaping cost more than the
    insert itself. Every inlined value is an int, a schema-checked kebab-case id or severity, or the
    evaluation timestamp, each checked here; anything else goes through parameters.
    """
    quote = connection.ops.quote_name
    stamp = str(connection.ops.adapt_datetimefield_value(now))
    head = f"INSERT INTO {quote(_TABLE)} ({', '.join(map(quote, _INSERT_COLUMNS))}, {quote('reopened_count')}) VALUES "
    safe = _SAFE_STAMP.match(stamp) and all(_SAFE_WORD.match(iid) and _SAFE_WORD.match(sev) for _, iid, sev in rows)
    with connection.cursor() as cursor:
        if safe:
            fixed = f"'{stamp}','{stamp}','{OPEN}',0"
            values = ",".join(f"({int(cloud_id)},{int(rid)},'{iid}','{sev}',{fixed})" for rid, iid, sev in rows)
            cursor.execute(head + values)
        else:
            placeholders = "(" + ", ".join(["%s"] * (len(_INSERT_COLUMNS) + 1)) + ")"
            cursor.executemany(
                head + placeholders, [(cloud_id, rid, iid, sev, stamp, stamp, OPEN, 0) for rid, iid, sev in rows]
            )


def _batches(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), WRITE_BATCH):
        yield ids[start : start + WRITE_BATCH]


def _resolve(queryset, now: datetime) -> int:  # noqa: ANN001
    """Resolve these findings (insights removed or narrowed) and refresh their resources' flag."""
    rows = list(queryset.values_list("pk", "resource_id"))
    with transaction.atomic():
        for batch in _batches([pk for pk, _ in rows]):
            Finding.objects.filter(pk__in=batch).update(status=FindingStatus.RESOLVED, resolved_at=now)
        findings_flag.refresh((rid for _, rid in rows), now)
    return len(rows)


# --------------------------------------------------------------------------- exemptions


def apply_exemptions(cloud: CloudAccount, now: datetime | None = None) -> int:
    """Point open and resolved findings of ``cloud`` at an active exemption that covers them.

    Findings already covered by an active exemption keep it; one whose exemption expired keeps the
    link (shown as not exempted: expiry is decided at read time) until another active one covers it.
    Exemptions of one resource (most of them: bulk exemptions make thousands) are applied together
    in a few queries; rule exemptions (group, tag, name) one by one.
    """
    now = now or timezone.now()
    active = list(
        Exemption.objects.active(now)
        .filter(organization_id=cloud.organization_id)
        .filter(Q(cloud__isnull=True) | Q(cloud=cloud))
        .order_by(F("expires_at").desc(nulls_first=True), "pk")
    )
    active_ids = [exemption.pk for exemption in active]
    relinked_resources: set[int] = set()
    per_resource = [exemption for exemption in active if _covers_one_resource(exemption)]
    linked = _apply_resource_exemptions(cloud, per_resource, set(active_ids), relinked_resources)
    for exemption in active:
        if _covers_one_resource(exemption):
            continue
        findings = (
            Finding.objects.filter(cloud=cloud, insight_id=exemption.insight_id)
            .filter(exemption.resource_q())
            .exclude(exemption_id__in=active_ids)
        )
        linked += _link(findings, exemption, relinked_resources)
        # An exemption whose scope was narrowed lets go of findings it no longer covers.
        covered = Finding.objects.filter(cloud=cloud, insight_id=exemption.insight_id).filter(exemption.resource_q())
        stale = Finding.objects.filter(cloud=cloud, exemption=exemption).exclude(pk__in=covered.values("pk"))
        _link(stale, None, relinked_resources)
    # The has-findings flag: resources whose findings were (un)linked, and those whose findings'
    # exemption expired since the last sweep.
    findings_flag.refresh(relinked_resources, now)
    findings_flag.sweep_expired(cloud.pk, cloud.organization_id, now)
    return linked


def _covers_one_resource(exemption: Exemption) -> bool:
    return bool(exemption.resource_id) and not (
        exemption.resource_group_id or exemption.tag_key or exemption.name_regex
    )


def _apply_resource_exemptions(
    cloud: CloudAccount, exemptions: list[Exemption], active_ids: set[int], resource_ids: set[int]
) -> int:
    """Link each (resource, insight) finding not under an active exemption to the first exemption of
    that pair; unlink findings from a one-resource exemption that no longer names them. Adds the
    resources of the findings (un)linked to ``resource_ids`` (their has-findings flag)."""
    chosen: dict[tuple[int, str], int] = {}
    for exemption in exemptions:
        chosen.setdefault((exemption.resource_id, exemption.insight_id), exemption.pk)
    pairs = {exemption.pk: (exemption.resource_id, exemption.insight_id) for exemption in exemptions}
    link: dict[int, int] = {}
    unlink: list[int] = []
    for batch in _batches(sorted({resource_id for resource_id, _ in chosen})):
        rows = Finding.objects.filter(cloud=cloud, resource_id__in=batch).values_list(
            "pk", "resource_id", "insight_id", "exemption_id"
        )
        for pk, resource_id, insight_id, exemption_id in rows:
            if exemption_id not in active_ids and (resource_id, insight_id) in chosen:
                link[pk] = chosen[resource_id, insight_id]
                resource_ids.add(resource_id)
    linked_rows = Finding.objects.filter(cloud=cloud, exemption_id__in=list(pairs)) if pairs else Finding.objects.none()
    for pk, resource_id, insight_id, exemption_id in linked_rows.values_list(
        "pk", "resource_id", "insight_id", "exemption_id"
    ):
        if pairs[exemption_id] != (resource_id, insight_id):
            unlink.append(pk)
            resource_ids.add(resource_id)
    finding_ids = sorted(link)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for batch in _batches(finding_ids):
            # One UPDATE per batch, each finding to its own exemption (built by hand: a thousand ORM
            # When() expressions cost more to compile than the database takes to run them).
            cursor.execute(
                f"UPDATE {quote(_TABLE)} SET {quote('exemption_id')} = CASE {quote('id')} "
                + " ".join(["WHEN %s THEN %s"] * len(batch))
                + f" END WHERE {quote('id')} IN ({', '.join(['%s'] * len(batch))})",
                [value for pk in batch for value in (pk, link[pk])] + batch,
            )
    for batch in _batches(unlink):
        Finding.objects.filter(pk__in=batch).update(exemption=None)
    return len(finding_ids)


def _link(findings, exemption: Exemption | None, resource_ids: set[int]) -> int:  # noqa: ANN001
    """Point ``findings`` at ``exemption`` (None: at none); adds their resources to ``resource_ids``."""
    rows = list(findings.values_list("pk", "resource_id"))
    resource_ids.update(rid for _, rid in rows)
    return Finding.objects.filter(pk__in=[pk for pk, _ in rows]).update(exemption=exemption) if rows else 0


def exempt(exemption: Exemption) -> int:
    """Save a new exemption and apply it at once to the findings it covers."""
    exemption.clean_scope()
    exemption.save()
    clouds = CloudAccount.objects.filter(organization_id=exemption.organization_id)
    if exemption.cloud_id:
        clouds = clouds.filter(pk=exemption.cloud_id)
    return sum(apply_exemptions(cloud) for cloud in clouds)


def revoke(exemption: Exemption, now: datetime | None = None) -> None:
    """End an exemption now: its findings are kept (shown as not exempted) and count as findings again."""
    now = now or timezone.now()
    with transaction.atomic():
        exemption.expires_at = now
        exemption.save(update_fields=["expires_at"])
        findings_flag.refresh(exemption.findings.filter(status=OPEN).values_list("resource_id", flat=True), now)


# --------------------------------------------------------------------------- history and scorecards


@dataclass
class OpenFindings:
    """The open findings of one cloud: resource ids per insight, and the exempted (resource, insight) pairs."""

    by_insight: dict[str, set[int]]
    exempted: set[tuple[int, str]]

    def total(self) -> int:
        return sum(len(ids) for ids in self.by_insight.values())

    def counts(self) -> tuple[Counter, Counter]:
        """(failed, exempted) open findings per insight."""
        exempted = Counter(insight_id for _, insight_id in self.exempted)
        return Counter({key: len(ids) for key, ids in self.by_insight.items()}) - exempted, exempted

    def resource_sets(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        """(failing, exempted) resource ids per insight."""
        exempted: dict[str, set[int]] = defaultdict(set)
        for resource_id, insight_id in self.exempted:
            exempted[insight_id].add(resource_id)
        failing = {key: ids - exempted[key] if key in exempted else ids for key, ids in self.by_insight.items()}
        return failing, exempted

    def apply(self, opened: list[tuple[int, str]], closed: list[tuple[int, str]]) -> None:
        for resource_id, insight_id in closed:
            self.by_insight.get(insight_id, set()).discard(resource_id)
        for resource_id, insight_id in opened:
            self.by_insight.setdefault(insight_id, set()).add(resource_id)

    def dump(self) -> bytes:
        data = {key: sorted(ids) for key, ids in self.by_insight.items() if ids}
        return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 1)

    @staticmethod
    def load(blob: bytes | memoryview | None) -> dict[str, set[int]] | None:
        if not blob:
            return None
        try:
            data = json.loads(zlib.decompress(bytes(blob)))
        except (ValueError, zlib.error):
            return None
        return {key: set(ids) for key, ids in data.items()}


def _exempted_pairs(cloud: CloudAccount, now: datetime) -> set[tuple[int, str]]:
    active = list(
        Exemption.objects.active(now).filter(organization_id=cloud.organization_id).values_list("pk", flat=True)
    )
    if not active:
        return set()
    return set(
        Finding.objects.filter(cloud=cloud, status=FindingStatus.OPEN, exemption_id__in=active).values_list(
            "resource_id", "insight_id"
        )
    )


def _open_findings(cloud: CloudAccount, now: datetime) -> OpenFindings:
    """Every open finding of the cloud, read from the database (raw: it is a hundred thousand rows)."""
    quote = connection.ops.quote_name
    by_insight: dict[str, set[int]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('resource_id')}, {quote('insight_id')} FROM {quote(_TABLE)} "
            f"WHERE {quote('cloud_id')} = %s AND {quote('status')} = %s",
            [cloud.pk, OPEN],
        )
        for resource_id, insight_id in cursor.fetchall():
            by_insight[insight_id].add(resource_id)
    return OpenFindings(dict(by_insight), _exempted_pairs(cloud, now))


def _open_findings_from_cache(
    cloud: CloudAccount, now: datetime, cached: dict[str, set[int]], opened: list, closed: list
) -> OpenFindings | None:
    """The previous run's open findings plus this run's changes; None when a count check disagrees."""
    current = OpenFindings(cached, set())
    current.apply(opened, closed)
    if Finding.objects.filter(cloud=cloud, status=FindingStatus.OPEN).count() != current.total():
        return None  # something else changed findings (a deleted resource, an admin): read them afresh
    current.exempted = _exempted_pairs(cloud, now)
    return current


def record_history(
    cloud: CloudAccount,
    catalog: dict[str, Insight],
    packs: dict[str, Pack],
    now: datetime,
    open_findings: OpenFindings | None = None,
) -> None:
    """Replace today's counts for the cloud, each insight and each pack (one row each)."""
    today = timezone.localdate(now)
    failed: dict[tuple[str, str], int] = defaultdict(int)
    exempted: dict[tuple[str, str], int] = defaultdict(int)
    resolved: dict[tuple[str, str], int] = defaultdict(int)
    packs_of: dict[str, list[str]] = defaultdict(list)
    for pack in packs.values():
        for insight_id in pack.insight_ids():
            packs_of[insight_id].append(pack.id)

    def count(target: dict, per_insight: Counter) -> None:
        for insight_id, n in per_insight.items():
            target[(HistoryScope.CLOUD, "")] += n
            target[(HistoryScope.INSIGHT, insight_id)] += n
            for pack_id in packs_of.get(insight_id, ()):
                target[(HistoryScope.PACK, pack_id)] += n

    if open_findings is None:
        open_findings = _open_findings(cloud, now)
    failed_per_insight, exempted_per_insight = open_findings.counts()
    count(failed, failed_per_insight)
    count(exempted, exempted_per_insight)
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    resolved_today = (
        Finding.objects.filter(cloud=cloud, status=FindingStatus.RESOLVED, resolved_at__gte=start_of_day)
        .values("insight_id")
        .annotate(n=Count("id"))
    )
    count(resolved, Counter({row["insight_id"]: row["n"] for row in resolved_today}))
    scopes = set(failed) | set(exempted) | set(resolved) | {(HistoryScope.CLOUD, "")}
    rows = [
        DailyCount(
            cloud=cloud,
            date=today,
            scope=scope,
            scope_id=scope_id,
            failed=failed.get((scope, scope_id), 0),
            exempted=exempted.get((scope, scope_id), 0),
            resolved=resolved.get((scope, scope_id), 0),
        )
        for scope, scope_id in sorted(scopes)
    ]
    with transaction.atomic():
        DailyCount.objects.filter(cloud=cloud, date=today).delete()
        DailyCount.objects.bulk_create(rows, batch_size=WRITE_BATCH)


def live_resources_by_type(cloud: CloudAccount) -> dict[str, int]:
    return dict(
        Resource.objects.filter(cloud=cloud, deleted_at__isnull=True)
        .values_list("resource_type")
        .annotate(n=Count("id"))
        .values_list("resource_type", "n")
    )


def score_of(passed: int, failed: int, exempted: int) -> float:
    """Percent of evaluated resource checks that pass, exempted ones counting as passing; 100 when none."""
    checked = passed + failed + exempted
    return round(100.0 * (passed + exempted) / checked, 2) if checked else 100.0


def compute_scorecards(
    cloud: CloudAccount,
    catalog: dict[str, Insight],
    packs: dict[str, Pack],
    now: datetime,
    open_findings: OpenFindings | None = None,
    live_by_type: dict[str, int] | None = None,
) -> list[Scorecard]:
    """Per pack that applies to the cloud's provider: per control, resources passing / failing / exempted."""
    if live_by_type is None:
        live_by_type = live_resources_by_type(cloud)
    # Sets of resource ids per insight, so a control's resources are set unions (done in C).
    if open_findings is None:
        open_findings = _open_findings(cloud, now)
    failing, exempted = open_findings.resource_sets()
    empty: set[int] = set()
    cards = []
    for pack in packs.values():
        if cloud.provider not in pack.clouds:
            continue
        controls: dict[str, dict] = {}
        totals = {"passed": 0, "failed": 0, "exempted": 0}
        for control in pack.controls:
            entry: dict = {"title": control.title, "passed": 0, "failed": 0, "exempted": 0}
            evaluated = [catalog[i] for i in control.insights if i in catalog]
            if not control.insights:
                entry["status"] = "manual" if control.manual else "not-covered"
            elif not evaluated:
                entry["status"] = "not-applicable"
            else:
                types = {t for insight in evaluated for t in insight.resource_types}
                applicable_resources = sum(live_by_type.get(t, 0) for t in types)
                # A resource fails the control if any of its findings is not exempted; it is exempted
                # if it has findings and all of them are exempted.
                failed_ids = empty.union(*(failing.get(i.id, empty) for i in evaluated))
                exempted_ids = empty.union(*(exempted.get(i.id, empty) for i in evaluated)) - failed_ids
                entry["failed"] = len(failed_ids)
                entry["exempted"] = len(exempted_ids)
                entry["passed"] = max(applicable_resources - len(failed_ids) - len(exempted_ids), 0)
                if applicable_resources == 0:
                    entry["status"] = "not-applicable"
                else:
                    entry["status"] = "fail" if entry["failed"] else "pass"
                for key in totals:
                    totals[key] += entry[key]
            controls[control.id] = entry
        score = score_of(**totals)
        card, _ = Scorecard.objects.update_or_create(
            cloud=cloud,
            pack_id=pack.id,
            defaults={"computed_at": now, "score": score, "controls": controls, **totals},
        )
        cards.append(card)
    _snapshot_scores(cloud, cards, now)
    return cards


def _snapshot_scores(cloud: CloudAccount, cards: list[Scorecard], now: datetime) -> None:
    """Today's row per pack for the score trend: one upsert, whatever the number of packs."""
    today = timezone.localdate(now)
    rows = [
        DailyScore(
            cloud=cloud,
            pack_id=card.pack_id,
            date=today,
            score=card.score,
            passed=card.passed,
            failed=card.failed,
            exempted=card.exempted,
        )
        for card in cards
    ]
    # MySQL/MariaDB upsert on any unique key and refuse to be told which; SQLite needs to be told.
    target = ["cloud", "pack_id", "date"] if connection.features.supports_update_conflicts_with_target else None
    DailyScore.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=target, update_fields=["score", "passed", "failed", "exempted"]
    )

"""Custom insights and packs in the GUI: the filter builder (validated as you type, with a preview of
the resources it would flag), edit, delete, copy a built-in, and packs as named lists of insights.

Validation, saving, auditing and re-evaluation live in ``compliance.editor`` (shared with the API);
this module only turns form fields into definitions and errors back into fields.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from compliance import editor
from insightcloud.accounts.permissions import (
    can_edit_insights,
    custom_insights_visible_to,
    custom_packs_visible_to,
    resources_visible_to,
)
from insightcloud.web import insight_builder as builder

PREVIEW_ROWS = 20


def _require_editor(user) -> None:  # noqa: ANN001
    if not can_edit_insights(user):
        raise PermissionDenied("you may view insights but not edit them")


def _custom_insight(user, insight_id: str):  # noqa: ANN001, ANN202
    """The user's organization's custom insight, else 404 (built-ins and other organizations' too)."""
    return get_object_or_404(custom_insights_visible_to(user), insight_id=insight_id)


def _editor_page(request, form: builder.BuilderForm, current=None, errors=None):  # noqa: ANN001, ANN202
    context = {
        "form": form,
        "errors": errors or {},
        "current": current,
        "enabled": current.enabled if current is not None and request.method != "POST" else _posted_enabled(request),
        "next_index": max((row.index for row in form.rows), default=-1) + 1,
        "property_keys": builder.property_keys(form.values["resource_types"]),
        **builder.choices(),
    }
    return render(request, "web/insight_edit.html", context, status=400 if errors else 200)


def _posted_enabled(request) -> bool:  # noqa: ANN001
    return request.method != "POST" or request.POST.get("enabled") == "on"


def _copy_of_builtin(request) -> dict:  # noqa: ANN001
    from compliance.library import builtin_insights

    source = builtin_insights().get(request.GET.get("from", ""))
    if source is None:
        return {}
    definition = source.definition()
    # Controls come from the built-in packs and tests are for the built-in meta-test: neither is copied.
    definition.pop("controls", None)
    definition.pop("tests", None)
    definition["id"] = f"{source.id}-custom"[:100]
    definition["name"] = f"{source.name} (custom)"
    return definition


def insight_new(request):  # noqa: ANN001, ANN201
    _require_editor(request.user)
    return _save_or_show(request, None, _copy_of_builtin(request))


def insight_edit(request, insight_id: str):  # noqa: ANN001, ANN201
    row = _custom_insight(request.user, insight_id)
    _require_editor(request.user)
    return _save_or_show(request, row, row.definition)


def _save_or_show(request, current, initial: dict):  # noqa: ANN001, ANN202
    if request.method != "POST":
        return _editor_page(request, builder.form_from_definition(initial), current)
    form = builder.form_from_post(request.POST)
    insight, errors = _check(request.user, form, current)
    if errors:
        return _editor_page(request, form, current, errors)
    enabled = request.POST.get("enabled") == "on"
    try:
        row = editor.save_custom_insight(
            request.user, form.definition, current=current, enabled=enabled, request=request
        )
    except editor.ValidationFailed as exc:  # e.g. the same id saved meanwhile by someone else
        return _editor_page(request, form, current, form.errors_for_fields(exc.errors))
    if not row.enabled:
        messages.success(request, f"Saved {row.insight_id}, disabled: it is not evaluated.")
        return redirect("insights")
    messages.success(request, f"Saved {row.insight_id}; its findings appear after the evaluation now queued.")
    return redirect("insight-detail", insight_id=row.insight_id)


def _check(user, form: builder.BuilderForm, current):  # noqa: ANN001, ANN202
    """(the insight, {}) when the builder's definition is valid, else (None, errors by form field)."""
    try:
        insight = editor.validate_insight(form.definition, user.organization_id, current)
    except editor.ValidationFailed as exc:
        return None, form.errors_for_fields(exc.errors)
    if form.input_errors:
        return None, dict(form.input_errors)
    return insight, {}


@require_POST
def insight_validate(request):  # noqa: ANN001, ANN201
    """Validate the builder's fields as they are typed; answer the preview and, out of band, the
    errors beside each field."""
    _require_editor(request.user)
    form = builder.form_from_post(request.POST)
    current = custom_insights_visible_to(request.user).filter(insight_id=request.POST.get("current", "")).first()
    insight, errors = _check(request.user, form, current)
    matching = insight or (None if form.input_errors else editor.matching_part(form.definition))
    preview = None
    if matching is not None:
        preview = editor.preview(matching, resources_visible_to(request.user), limit=PREVIEW_ROWS)
    context = {
        "form": form,
        "errors": errors,
        "slots": form.error_slots,
        "preview": preview,
        "property_keys": builder.property_keys(form.values["resource_types"]),
    }
    return render(request, "web/insight_validation.html", context)


@require_GET
def insight_filter_row(request):  # noqa: ANN001, ANN201
    """One empty filter row of the chosen kind (added, or its kind changed)."""
    _require_editor(request.user)
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError:
        raise Http404("bad row index") from None
    kind = request.GET.get(f"filters-{index}-kind") or request.GET.get("kind") or builder.PROPERTY_CHECK
    context = {"row": builder.blank_row(index, kind), "errors": {}, "next_index": index + 1, **builder.choices()}
    context["appended"] = "kind" in request.GET  # a new row also moves the "add" button's index on
    response = render(request, "web/insight_filter_row.html", context)
    response["HX-Trigger-After-Settle"] = "revalidate"
    return response


@require_POST
def insight_delete(request, insight_id: str):  # noqa: ANN001, ANN201
    row = _custom_insight(request.user, insight_id)
    _require_editor(request.user)
    try:
        editor.delete_custom_insight(request.user, row, request=request)
    except editor.ValidationFailed as exc:
        messages.error(request, " ".join(message for problems in exc.errors.values() for message in problems))
        return redirect("insight-detail", insight_id=insight_id)
    messages.success(request, f"Deleted {insight_id}; its open findings are resolved by the evaluation now queued.")
    return redirect("insights")


# --------------------------------------------------------------------------- packs


def _pack_page(request, values: dict, current=None, errors=None) -> HttpResponse:  # noqa: ANN001
    from compliance.library import insights_for

    catalog = sorted(insights_for(request.user.organization_id).values(), key=lambda i: (i.source != "custom", i.id))
    context = {"values": values, "current": current, "errors": errors or {}, "catalog": catalog}
    return render(request, "web/pack_edit.html", context, status=400 if errors else 200)


def _pack_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Pack schema paths -> the form's fields (the controls are the chosen insights)."""
    placed: dict[str, list[str]] = {}
    for path, problems in errors.items():
        slot = path if path in ("id", "name", "description") else "insights" if path.startswith("controls") else None
        for problem in problems:
            placed.setdefault(slot or editor.NON_FIELD, []).append(problem if slot == path else f"{path}: {problem}")
    return placed


def _save_pack_or_show(request, current) -> HttpResponse:  # noqa: ANN001
    from compliance.library import insights_for

    if request.method != "POST":
        pack = current.parse() if current else None
        values = {
            "id": pack.id if pack else "",
            "name": pack.name if pack else "",
            "description": pack.description if pack else "",
            "insights": sorted(pack.insight_ids()) if pack else [],
            # A pack made through the API may group insights under its own controls: say that saving here
            # turns it into one control per insight.
            "reshaped": bool(pack) and any(c.insights != (c.id,) for c in pack.controls),
        }
        return _pack_page(request, values, current)
    values = {name: request.POST.get(name, "").strip() for name in ("id", "name", "description")}
    values["insights"] = request.POST.getlist("insights")
    catalog = insights_for(request.user.organization_id)
    definition = editor.pack_of_insights(
        values["id"], values["name"], values["description"], values["insights"], catalog
    )
    try:
        row = editor.save_custom_pack(request.user, definition, current=current, request=request)
    except editor.ValidationFailed as exc:
        return _pack_page(request, values, current, _pack_errors(exc.errors))
    messages.success(request, f"Saved pack {row.pack_id}; its scorecards appear after the evaluation now queued.")
    return redirect("pack-detail", pack_id=row.pack_id)


def pack_new(request):  # noqa: ANN001, ANN201
    _require_editor(request.user)
    return _save_pack_or_show(request, None)


def pack_edit(request, pack_id: str):  # noqa: ANN001, ANN201
    row = get_object_or_404(custom_packs_visible_to(request.user), pack_id=pack_id)
    _require_editor(request.user)
    return _save_pack_or_show(request, row)


@require_POST
def pack_delete(request, pack_id: str):  # noqa: ANN001, ANN201
    row = get_object_or_404(custom_packs_visible_to(request.user), pack_id=pack_id)
    _require_editor(request.user)
    editor.delete_custom_pack(request.user, row, request=request)
    messages.success(request, f"Deleted pack {pack_id}.")
    return redirect("compliance")

"""A meta-test over every registered plug-in: each carries what operators and reviewers need."""

from __future__ import annotations

import pytest

from harvesters.normalized import TYPES
from insightcloud.registry import KINDS, RegistryError, registry
from scheduler.queues import PRIORITIES


def test_every_job_kind_has_a_docstring_a_queue_and_a_time_limit():
    assert registry.names("jobs"), "no job kinds registered"
    for name, kind in registry.items("jobs"):
        assert kind.description, f"job kind {name} has no docstring"
        assert kind.priority in PRIORITIES, name
        assert kind.time_limit > 0, name


def test_every_resource_type_has_metadata_and_permissions():
    for name, spec in registry.items("resource_types"):
        assert spec.description, f"{name} has no docstring"
        assert spec.permissions, f"{name} lists no permissions"
        assert spec.resource_type in TYPES, name
        assert name.startswith(spec.provider + "."), name


def test_every_cloud_driver_can_connect_and_list_regions():
    for name, driver in registry.items("clouds"):
        assert callable(getattr(driver, "connect", None)), name
        assert callable(getattr(driver, "regions", None)), name


def test_every_filter_and_action_documents_itself():
    for kind in ("filters", "actions"):
        for name, item in registry.items(kind):
            assert (getattr(item, "__doc__", None) or getattr(item, "description", "")).strip(), f"{kind} {name}"
            if kind == "filters":
                assert getattr(item, "schema", None) is not None, f"filter {name} has no schema"
            if kind == "actions":
                assert getattr(item, "permissions", None), f"action {name} lists no permissions"


def test_the_registry_is_locked_after_start_up():
    with pytest.raises(RegistryError, match="locked"):
        registry.register("jobs", "late", object())


def test_unknown_names_say_what_exists():
    with pytest.raises(RegistryError, match="unknown job 'nope'; expected one of .*noop"):
        registry.get("jobs", "nope")
    assert set(KINDS) == {"clouds", "resource_types", "filters", "actions", "jobs"}

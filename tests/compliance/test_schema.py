"""One schema for built-in and custom insights and packs; invalid definitions say where and why."""

from __future__ import annotations

import copy

import pytest

from compliance.library import builtin_packs, parse_insight_file
from compliance.schema import DefinitionError, parse_insight, parse_pack

VALID = {
    "id": "bucket-without-owner-tag",
    "name": "Bucket without owner",
    "description": "A bucket has no owner tag.",
    "severity": "low",
    "resource_types": ["storage_container"],
    "clouds": ["aws", "gcp"],
    "filters": [{"key": "public", "op": "eq", "value": True}],
    "remediation": "Tag it.",
    "references": ["https://example.com"],
    "controls": ["soc2:CC6.1"],
}


def errors_of(**changes) -> list[str]:
    definition = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is None:
            definition.pop(key)
        else:
            definition[key] = value
    with pytest.raises(DefinitionError) as error:
        parse_insight(definition)
    return error.value.errors


def test_valid_insight_compiles():
    insight = parse_insight(copy.deepcopy(VALID))
    assert insight.id == "bucket-without-owner-tag" and insight.predicate({"public": True}, None)


def test_unknown_operator_is_refused_with_its_path():
    filters = [VALID["filters"][0]] * 2 + [{"key": "public", "op": "equals", "value": True}]
    assert errors_of(filters=filters)[0].startswith(
        "filters[2].op: unknown operator 'equals'; expected one of eq, ne, in, not-in"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"id": "Bucket_Tag"}, "id: 'Bucket_Tag' must be kebab-case"),
        ({"severity": "urgent"}, "severity: unknown value 'urgent'; expected one of info, low, medium, high, critical"),
        ({"clouds": ["oracle"]}, "clouds[0]: unknown value 'oracle'; expected one of aws, azure, gcp, alibaba"),
        ({"resource_types": ["bucket"]}, "resource_types[0]: unknown normalized type 'bucket'; expected one of"),
        ({"name": None}, "name: is required"),
        ({"colour": "red"}, "colour: unknown key; expected one of"),
        ({"filters": []}, "filters: must list at least 1 item(s)"),
        ({"filters": "public"}, "filters: expected a list, got a string"),
        ({"controls": ["CC6.1"]}, "controls[0]: 'CC6.1' does not match the expected form"),
        ({"tests": {"fail": [{"props": {}}]}}, "tests.fail[0].properties: is required"),
    ],
)
def test_invalid_insight_is_refused_with_path_and_reason(changes, expected):
    assert any(error.startswith(expected) for error in errors_of(**changes)), errors_of(**changes)


def test_a_file_reports_every_error_with_its_file_and_index(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("insights:\n- {id: ok-one}\n- {id: Bad}\n")
    with pytest.raises(DefinitionError) as error:
        parse_insight_file(path)
    assert any(e.startswith("mine.yaml: insights[0]: name: is required") for e in error.value.errors)
    assert any(e.startswith("mine.yaml: insights[1]: id: 'Bad' must be kebab-case") for e in error.value.errors)


def test_pack_with_unknown_insight_is_refused():
    definition = {"id": "mine", "name": "Mine", "controls": [{"id": "1", "title": "t", "insights": ["nope"]}]}
    with pytest.raises(DefinitionError, match=r"controls\[0\].insights\[0\]: unknown insight 'nope'"):
        parse_pack(definition, known_insights={"other"})


def test_pack_with_duplicate_control_is_refused():
    definition = {"id": "mine", "name": "Mine", "controls": [{"id": "1", "title": "a"}, {"id": "1", "title": "b"}]}
    with pytest.raises(DefinitionError, match=r"controls\[1\].id: duplicate control '1'"):
        parse_pack(definition)


def test_builtin_packs_exist_and_report_honest_coverage():
    packs = builtin_packs()
    assert {"cis-aws-3.0", "cis-azure-2.1", "cis-gcp-3.0", "cis-alibaba-1.0", "pci-dss-4.0", "hipaa-security-rule",
            "nist-800-53-r5", "soc2", "iso-27001-2022"} <= set(packs)  # fmt: skip
    for pack in packs.values():
        coverage = pack.coverage()
        assert coverage["total"] == coverage["automated"] + coverage["manual"] + coverage["uncovered"]
        assert 0 < coverage["coverage"] < 1, pack.id  # every built-in pack admits controls it does not automate
        assert coverage["coverage"] == round(coverage["automated"] / coverage["total"], 4)

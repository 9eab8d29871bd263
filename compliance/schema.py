"""One schema for every insight (built-in YAML or custom in the database) and every pack.

``parse_insight(definition)`` validates and compiles; an invalid definition raises
:class:`DefinitionError` whose ``errors`` are path-first and human
(``filters[2].op: unknown operator 'equals'; expected one of eq, ne, in, …``), so the caller can
refuse it before anything is saved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from compliance.filters import FilterError, Predicate, compile_filters
from harvesters.normalized import TYPES

SEVERITIES = ("info", "low", "medium", "high", "critical")
CLOUDS = ("aws", "azure", "gcp", "alibaba")
KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"

_CASE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["properties"],
    "properties": {
        "properties": {"type": "object"},
        "account_id": {"type": "string"},
        "note": {"type": "string"},
    },
}

INSIGHT_SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "description", "severity", "resource_types", "clouds", "filters", "remediation"],
    "properties": {
        "id": {"type": "string", "pattern": KEBAB, "maxLength": 100},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "minLength": 1},
        "severity": {"enum": list(SEVERITIES)},
        "resource_types": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "clouds": {"type": "array", "minItems": 1, "items": {"enum": list(CLOUDS)}},
        "filters": {"type": "array", "minItems": 1},
        "remediation": {"type": "string", "minLength": 1},
        "references": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "controls": {"type": "array", "items": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]*:\S+$"}},
        "tests": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"fail": {"type": "array", "items": _CASE}, "pass": {"type": "array", "items": _CASE}},
        },
    },
}

_CONTROL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "title": {"type": "string", "minLength": 1},
        "insights": {"type": "array", "items": {"type": "string", "pattern": KEBAB}},
        "manual": {"type": "boolean"},
        "note": {"type": "string"},
    },
}

PACK_SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "controls"],
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9]+([.-][a-z0-9]+)*$", "maxLength": 100},
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string"},
        "description": {"type": "string"},
        "clouds": {"type": "array", "items": {"enum": list(CLOUDS)}},
        "references": {"type": "array", "items": {"type": "string"}},
        "controls": {"type": "array", "minItems": 1, "items": _CONTROL},
    },
}


class DefinitionError(ValueError):
    """An insight or pack that fails the schema; ``errors`` are ``path: why`` lines."""

    def __init__(self, errors: list[str], where: str = "") -> None:
        self.errors = [f"{where}: {e}" if where else e for e in errors]
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Insight:
    id: str
    name: str
    description: str
    severity: str
    resource_types: tuple[str, ...]
    clouds: tuple[str, ...]
    filters: list
    remediation: str
    references: tuple[str, ...]
    controls: tuple[str, ...]
    tests: dict
    source: str  # "builtin:<file>" or "custom"
    hash: str  # of what decides findings (types, clouds, filters, severity): a change re-evaluates every resource
    predicate: Predicate = field(repr=False, compare=False)

    def definition(self) -> dict:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "severity": self.severity,
            "resource_types": list(self.resource_types),
            "clouds": list(self.clouds),
            "filters": self.filters,
            "remediation": self.remediation,
        }
        if self.references:
            data["references"] = list(self.references)
        if self.controls:
            data["controls"] = list(self.controls)
        if self.tests:
            data["tests"] = self.tests
        return data


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    insights: tuple[str, ...]
    manual: bool
    note: str = ""

    @property
    def automated(self) -> bool:
        return bool(self.insights)


@dataclass(frozen=True)
class Pack:
    id: str
    name: str
    version: str
    description: str
    clouds: tuple[str, ...]
    controls: tuple[Control, ...]
    source: str

    def coverage(self) -> dict:
        """Honest coverage: controls some insight evaluates / all controls listed."""
        total = len(self.controls)
        automated = sum(1 for c in self.controls if c.automated)
        manual = sum(1 for c in self.controls if c.manual and not c.automated)
        return {
            "total": total,
            "automated": automated,
            "manual": manual,
            "uncovered": total - automated - manual,
            "coverage": round(automated / total, 4) if total else 0.0,
        }

    def insight_ids(self) -> set[str]:
        return {insight_id for control in self.controls for insight_id in control.insights}


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number"}.get(
        type(value), repr(value)
    )


_ARTICLE = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
}


def _human(error: jsonschema.ValidationError) -> str:
    path = _path(error.absolute_path)
    validator, schema = error.validator, error.schema
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{_path([*error.absolute_path, extra[0]])}: unknown key; expected one of {', '.join(allowed)}"
    if validator == "required":
        missing = error.message.split("'")[1]
        return f"{_path([*error.absolute_path, missing])}: is required"
    if validator == "enum":
        return f"{path}: unknown value {error.instance!r}; expected one of {', '.join(map(str, schema['enum']))}"
    if validator == "pattern" and schema["pattern"] == KEBAB:
        return f"{path}: {error.instance!r} must be kebab-case (lowercase letters, digits and single hyphens)"
    if validator == "pattern":
        return f"{path}: {error.instance!r} does not match the expected form {schema['pattern']}"
    if validator == "type":
        expected = schema["type"] if isinstance(schema["type"], str) else schema["type"][0]
        return f"{path}: expected {_ARTICLE.get(expected, expected)}, got {_describe(error.instance)}"
    if validator == "minItems":
        return f"{path}: must list at least {schema['minItems']} item(s)"
    if validator == "minLength":
        return f"{path}: must not be empty"
    return f"{path}: {error.message}" if path else error.message


def schema_errors(definition: Any, schema: dict) -> list[str]:
    if not isinstance(definition, dict):
        return [f"expected a mapping, got {_describe(definition)}"]
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(definition), key=lambda e: [str(p) for p in e.absolute_path])
    return [_human(error) for error in errors]


def insight_hash(definition: dict) -> str:
    decisive = {k: definition.get(k) for k in ("resource_types", "clouds", "filters", "severity")}
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()[:16]


def parse_insight(definition: Any, *, source: str = "custom", where: str = "") -> Insight:
    """Validate ``definition`` against the insight schema and compile its filters."""
    errors = schema_errors(definition, INSIGHT_SCHEMA)
    # Types and filters are checked even when other keys are wrong, so an editor shows every problem at once.
    resource_types = definition.get("resource_types") if isinstance(definition, dict) else None
    for i, resource_type in enumerate(resource_types if isinstance(resource_types, list) else []):
        if isinstance(resource_type, str) and resource_type not in TYPES:
            errors.append(
                f"resource_types[{i}]: unknown normalized type {resource_type!r}; expected one of "
                f"{', '.join(sorted(TYPES))}"
            )
    filters = definition.get("filters") if isinstance(definition, dict) else None
    if isinstance(filters, list) and filters:
        try:
            predicate = compile_filters(filters, "filters")
        except FilterError as exc:
            errors.append(str(exc))
    if not errors:
        for outcome in ("fail", "pass"):
            for i, case in enumerate(definition.get("tests", {}).get(outcome, [])):
                if case.get("properties") is None:
                    errors.append(f"tests.{outcome}[{i}].properties: is required")
    if errors:
        raise DefinitionError(errors, where)
    return Insight(
        id=definition["id"],
        name=definition["name"],
        description=definition["description"].strip(),
        severity=definition["severity"],
        resource_types=tuple(definition["resource_types"]),
        clouds=tuple(definition["clouds"]),
        filters=definition["filters"],
        remediation=definition["remediation"].strip(),
        references=tuple(definition.get("references", ())),
        controls=tuple(definition.get("controls", ())),
        tests=definition.get("tests", {}),
        source=source,
        hash=insight_hash(definition),
        predicate=predicate,
    )


def parse_pack(
    definition: Any, *, source: str = "custom", where: str = "", known_insights: set[str] | None = None
) -> Pack:
    """Validate a pack; with ``known_insights`` every referenced insight must exist."""
    errors = schema_errors(definition, PACK_SCHEMA)
    if not errors:
        seen: set[str] = set()
        for i, control in enumerate(definition["controls"]):
            if control["id"] in seen:
                errors.append(f"controls[{i}].id: duplicate control {control['id']!r}")
            seen.add(control["id"])
            if known_insights is not None:
                for j, insight_id in enumerate(control.get("insights", [])):
                    if insight_id not in known_insights:
                        errors.append(f"controls[{i}].insights[{j}]: unknown insight {insight_id!r}")
    if errors:
        raise DefinitionError(errors, where)
    controls = tuple(
        Control(
            id=str(c["id"]),
            title=c["title"],
            insights=tuple(c.get("insights", ())),
            manual=bool(c.get("manual", False)),
            note=c.get("note", ""),
        )
        for c in definition["controls"]
    )
    return Pack(
        id=definition["id"],
        name=definition["name"],
        version=str(definition.get("version", "")),
        description=definition.get("description", ""),
        clouds=tuple(definition.get("clouds", CLOUDS)),
        controls=controls,
        source=source,
    )

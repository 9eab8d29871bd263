"""The filter builder's form: an insight definition <-> flat form fields, and schema error paths <-> fields.

Each top-level filter is a row ``filters-<i>-*``: a property check (``key``, ``op``, ``value``,
``match``), a named filter from the registry with one field per declared parameter
(``filters-<i>-arg-<name>``), or, for ``and``/``or``/``not``/``any``/``all`` trees, the filter as
JSON. Values are passed on as typed (a number stays a number, anything else stays text), so the
one schema in ``compliance.schema`` reports every problem and nothing is validated twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from compliance.filters import OPERATORS
from compliance.filters.core import UNARY
from compliance.schema import CLOUDS, SEVERITIES
from harvesters.normalized import TYPES
from insightcloud.registry import RegistryError, registry

PROPERTY_CHECK = "key"
JSON_FILTER = "json"
TEXT_FIELDS = ("id", "name", "description", "remediation")
_ROW_FIELD = re.compile(r"^filters-(\d+)-kind$")
_ROW_PATH = re.compile(r"^filters\[(\d+)\](.*)$")
_REQUIRED_ARGUMENT = re.compile(r"^'([\w-]+)' is required$")


@dataclass(frozen=True)
class Parameter:
    """One argument of a named filter, as a form field (from the filter's JSON schema)."""

    name: str
    widget: str  # number | text | list | choices
    required: bool
    choices: tuple[str, ...] = ()
    integers: bool = False  # list items are whole numbers


def parameters_of(filter_name: str) -> list[Parameter]:
    schema = registry.get("filters", filter_name).schema
    required = set(schema.get("required", ()))
    found = []
    for name, spec in schema.get("properties", {}).items():
        items = spec.get("items", {})
        if spec.get("type") == "integer":
            found.append(Parameter(name, "number", name in required))
        elif spec.get("type") == "array" and "enum" in items:
            found.append(Parameter(name, "choices", name in required, tuple(map(str, items["enum"]))))
        elif spec.get("type") == "array":
            found.append(Parameter(name, "list", name in required, integers=items.get("type") == "integer"))
        else:
            found.append(Parameter(name, "text", name in required))
    return found


def filter_kinds() -> list[tuple[str, str]]:
    named = [(name, f"Named filter: {name}") for name in registry.names("filters")]
    return [(PROPERTY_CHECK, "Property check (key / operator / value)"), *named, (JSON_FILTER, "Advanced (JSON)")]


def _is_named(kind: str) -> bool:
    try:
        registry.get("filters", kind)
    except RegistryError:
        return False
    return True


@dataclass
class FilterRow:
    index: int
    kind: str
    values: dict[str, Any] = field(default_factory=dict)  # what the fields show

    @property
    def parameters(self) -> list[Parameter]:
        return parameters_of(self.kind) if _is_named(self.kind) else []

    @property
    def description(self) -> str:
        return registry.get("filters", self.kind).description if _is_named(self.kind) else ""

    @property
    def prefix(self) -> str:
        return f"filters-{self.index}"

    @property
    def fields(self) -> list[str]:
        """The names of this row's error slots (one per field, and one for the row)."""
        prefix = self.prefix
        if self.kind == PROPERTY_CHECK:
            names = ["key", "op", "value", "match"]
        elif self.kind == JSON_FILTER:
            names = ["json"]
        else:
            names = [f"arg-{p.name}" for p in self.parameters]
        return [prefix, *(f"{prefix}-{name}" for name in names)]


def blank_row(index: int, kind: str = PROPERTY_CHECK) -> FilterRow:
    if kind not in dict(filter_kinds()):
        kind = PROPERTY_CHECK
    return FilterRow(index, kind, {"op": "eq", "match": "any"} if kind == PROPERTY_CHECK else {})


def _shown(value: Any) -> str:
    """A value as the user would type it back: text as is, unless it would read back as something else
    (the text "22" is shown quoted, else saving would turn it into the number 22); anything else as JSON."""
    if isinstance(value, str) and _typed_value(value) == value:
        return value
    return json.dumps(value)


def rows_from_filters(filters: list) -> list[FilterRow]:
    rows = []
    for index, spec in enumerate(filters):
        if isinstance(spec, dict) and "key" in spec and set(spec) <= {"key", "op", "value", "match"}:
            values = {"key": spec["key"], "op": spec.get("op", ""), "match": spec.get("match", "any")}
            values["value"] = _shown(spec["value"]) if "value" in spec else ""
            rows.append(FilterRow(index, PROPERTY_CHECK, values))
        elif isinstance(spec, dict) and len(spec) == 1 and _is_named(next(iter(spec))):
            ((name, arguments),) = spec.items()
            values = {}
            for parameter in parameters_of(name):
                value = (arguments or {}).get(parameter.name)
                if value is None:
                    continue
                if parameter.widget == "list":
                    values[parameter.name] = ", ".join(map(str, value))
                else:
                    values[parameter.name] = value if parameter.widget == "choices" else str(value)
            rows.append(FilterRow(index, name, values))
        else:
            rows.append(FilterRow(index, JSON_FILTER, {"json": json.dumps(spec, indent=1)}))
    return rows


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text  # the schema says what is wrong with it


def _typed_value(text: str) -> Any:
    """``22`` -> 22, ``false`` -> False, ``["a"]`` -> ["a"]; anything that is not JSON stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _row_from_post(post: Any, index: int, kind: str, input_errors: dict[str, list[str]]) -> tuple[FilterRow, Any]:
    prefix = f"filters-{index}-"
    if kind == JSON_FILTER:
        text = post.get(prefix + "json", "")
        try:
            spec = json.loads(text)
        except ValueError as exc:
            input_errors[prefix + "json"] = [f"not valid JSON: {exc}"]
            spec = None
        return FilterRow(index, kind, {"json": text}), spec
    if kind == PROPERTY_CHECK:
        values = {name: post.get(prefix + name, "").strip() for name in ("key", "op", "value", "match")}
        spec = {"key": values["key"], "op": values["op"]}
        if values["op"] not in UNARY:
            spec["value"] = _typed_value(values["value"])
        if values["match"] == "all":
            spec["match"] = "all"
        return FilterRow(index, kind, values), spec
    arguments: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for parameter in parameters_of(kind):
        name = prefix + "arg-" + parameter.name
        if parameter.widget == "choices":
            chosen = post.getlist(name)
            values[parameter.name] = chosen
            if chosen:
                arguments[parameter.name] = chosen
            continue
        text = post.get(name, "").strip()
        values[parameter.name] = text
        if not text:
            continue
        if parameter.widget == "number":
            arguments[parameter.name] = _number(text)
        elif parameter.widget == "list":
            items = [item.strip() for item in text.split(",") if item.strip()]
            arguments[parameter.name] = [_number(item) for item in items] if parameter.integers else items
        else:
            arguments[parameter.name] = text
    return FilterRow(index, kind, values), {kind: arguments}


@dataclass
class BuilderForm:
    """The builder's state: field values to show, the definition they make, and errors by field name."""

    values: dict[str, Any]
    rows: list[FilterRow]
    definition: dict
    input_errors: dict[str, list[str]]

    @property
    def error_slots(self) -> list[str]:
        slots = [*TEXT_FIELDS, "severity", "resource_types", "clouds", "references", "filters", "non_field_errors"]
        for row in self.rows:
            slots.extend(row.fields)
        return slots

    def errors_for_fields(self, errors_by_path: dict[str, list[str]]) -> dict[str, list[str]]:
        """Schema errors (keyed by definition path) moved to the form field that shows them."""
        placed: dict[str, list[str]] = {key: list(value) for key, value in self.input_errors.items()}
        for path, messages in errors_by_path.items():
            for message in messages:
                slot, text = self._slot(path, message)
                if slot not in self.input_errors:  # e.g. JSON that does not parse is not "a mapping" either
                    placed.setdefault(slot, []).append(text)
        return placed

    def _slot(self, path: str, message: str) -> tuple[str, str]:
        head = re.split(r"[.\[]", path, maxsplit=1)[0]
        if head in (*TEXT_FIELDS, "severity", "resource_types", "clouds", "references") and head != path:
            return head, f"{path}: {message}"  # e.g. resource_types[1]: shown beside the select
        if path in (*TEXT_FIELDS, "severity", "resource_types", "clouds", "references", "filters"):
            return path, message
        # Rows keep the number they were added with (fields of the page), while the definition's
        # filters count from zero over the rows left: filters[i] is the i-th row shown.
        match = _ROW_PATH.match(path)
        if not match or int(match[1]) >= len(self.rows):
            return "non_field_errors", f"{path}: {message}"
        row, rest = self.rows[int(match[1])], match[2]
        prefix = f"filters-{row.index}"
        if row.kind == JSON_FILTER:
            return f"{prefix}-json", f"{path}: {message}" if rest else message
        if row.kind == PROPERTY_CHECK:
            part = rest.lstrip(".").split(".")[0].split("[")[0]
            return (f"{prefix}-{part}", message) if part in ("key", "op", "value", "match") else (prefix, message)
        argument = rest.removeprefix(f".{row.kind}").lstrip(".").split(".")[0].split("[")[0]
        if not argument and (required := _REQUIRED_ARGUMENT.match(message)):
            argument, message = required[1], "is required"
        if argument in {p.name for p in row.parameters}:
            return f"{prefix}-arg-{argument}", message
        return prefix, message


def form_from_post(post: Any) -> BuilderForm:
    values: dict[str, Any] = {name: post.get(name, "").strip() for name in TEXT_FIELDS}
    values["severity"] = post.get("severity", "")
    values["resource_types"] = post.getlist("resource_types")
    values["clouds"] = post.getlist("clouds")
    values["references"] = post.get("references", "")
    rows: list[FilterRow] = []
    filters: list = []
    input_errors: dict[str, list[str]] = {}
    indexes = sorted(int(m[1]) for key in post if (m := _ROW_FIELD.match(key)))
    for index in indexes:
        row, spec = _row_from_post(post, index, post.get(f"filters-{index}-kind", PROPERTY_CHECK), input_errors)
        rows.append(row)
        filters.append(spec)
    definition: dict[str, Any] = {
        "id": values["id"],
        "name": values["name"],
        "description": values["description"],
        "severity": values["severity"],
        "resource_types": values["resource_types"],
        "clouds": values["clouds"],
        "filters": filters,
        "remediation": values["remediation"],
    }
    references = [line.strip() for line in values["references"].splitlines() if line.strip()]
    if references:
        definition["references"] = references
    return BuilderForm(values, rows, definition, input_errors)


def form_from_definition(definition: dict) -> BuilderForm:
    values = {name: definition.get(name, "") for name in TEXT_FIELDS}
    values["severity"] = definition.get("severity", "medium")
    values["resource_types"] = list(definition.get("resource_types", []))
    values["clouds"] = list(definition.get("clouds", CLOUDS))
    values["references"] = "\n".join(definition.get("references", []))
    rows = rows_from_filters(definition.get("filters") or []) or [blank_row(0)]
    return BuilderForm(values, rows, definition, {})


def choices() -> dict[str, Any]:
    """What the builder's selects offer."""
    return {
        "severities": SEVERITIES,
        "clouds": CLOUDS,
        "types": sorted(TYPES),
        "operators": list(OPERATORS),
        "unary_operators": sorted(UNARY),
        "filter_kinds": filter_kinds(),
    }


def property_keys(resource_types: list[str]) -> list[str]:
    """Property names of the chosen normalized types, offered as suggestions for a filter's key."""
    keys: set[str] = set()
    for name in resource_types:
        if name in TYPES:
            keys.update(TYPES[name].properties)
            keys.update(TYPES[name].optional)
    return sorted(keys)

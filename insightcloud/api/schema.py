"""OpenAPI post-processing: document the JSON errors every operation can answer with."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "what went wrong, in one sentence"},
        "fields": {"type": "object", "additionalProperties": True, "description": "per-field validation problems"},
    },
    "required": ["error"],
}
DESCRIPTIONS = {
    "400": "Invalid request (see fields)",
    "401": "Not authenticated",
    "403": "Not allowed",
    "404": "No such object, or not visible to you",
}


def add_error_responses(result: dict, generator, request, public) -> dict:  # noqa: ANN001
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            codes = ["400", "401", "403", "404"]  # 404 also for a stale or forged cursor
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": reference})
    return result

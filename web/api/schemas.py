"""JSON Schemas of what the API sends and takes, shared by the routes and the OpenAPI document.

Responses reference them by ``$ref`` under ``#/components/schemas``, so one
definition serves every route that answers with it.
"""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "pages"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
        },
    }


NULLABLE_STRING = {"type": ["string", "null"]}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
ANY_OBJECT: dict[str, Any] = {"type": "object"}

WORK_ITEM = {
    "type": "object",
    "required": ["id", "case_id", "reference", "task", "title", "role", "due_at", "assignee"],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "reference": {"type": "string"},
        "task": {"type": "string", "description": "the task's id in the diagram"},
        "title": {"type": "string"},
        "stage": NULLABLE_STRING,
        "lane": NULLABLE_STRING,
        "role": NULLABLE_STRING,
        "assignee": NULLABLE_STRING,
        "due_at": NULLABLE_TIMESTAMP,
        "created_at": TIMESTAMP,
        "overdue": {"type": "boolean"},
    },
}

WORK_ITEM_DETAIL = {
    "allOf": [
        ref("WorkItem"),
        {
            "type": "object",
            "required": ["form", "instructions"],
            "properties": {
                "form": {
                    "type": ["object", "null"],
                    "description": "the JSON Schema the completion data must satisfy",
                },
                "instructions": {"type": "string", "description": "Markdown"},
                "draft": {"type": ["object", "null"]},
            },
        },
    ]
}

CASE = {
    "type": "object",
    "required": ["id", "reference", "status", "process_key", "model_version", "work_items"],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "status": {"enum": ["running", "waiting", "completed", "error", "cancelled"]},
        "process_key": {"type": "string"},
        "model_version": {"type": "integer"},
        "revision": {"type": "integer"},
        "work_items": {"type": "array", "items": ref("WorkItem")},
    },
}

CASE_DETAIL = {
    "allOf": [
        ref("Case"),
        {
            "type": "object",
            "required": ["stages", "data", "withheld"],
            "properties": {
                "stages": {"type": "array", "items": {"type": "string"}},
                "data": {
                    "type": "object",
                    "description": "only the fields the caller's roles need at the case's stage",
                },
                "withheld": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "how many filled-in fields were withheld",
                },
            },
        },
    ]
}

CASE_SUMMARY = {
    "type": "object",
    "required": ["id", "reference", "status", "process_key", "model_version", "started_at"],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "status": {"type": "string"},
        "process_key": {"type": "string"},
        "model_version": {"type": "integer"},
        "started_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
}

PROCESS_MODEL = {
    "type": "object",
    "required": ["key", "version", "name", "content_hash", "deployed_by", "deployed_at"],
    "properties": {
        "key": {"type": "string"},
        "version": {"type": "integer"},
        "name": {"type": "string"},
        "content_hash": {"type": "string"},
        "deployed_by": {"type": "string"},
        "deployed_at": TIMESTAMP,
        "instances": {"type": "integer", "minimum": 0},
    },
}

DEPLOYED = {
    "type": "object",
    "required": ["models"],
    "properties": {
        "models": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "version", "content_hash", "created"],
                "properties": {
                    "key": {"type": "string"},
                    "version": {"type": "integer"},
                    "content_hash": {"type": "string"},
                    "created": {"type": "boolean"},
                },
            },
        },
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}

EVENT = {
    "type": "object",
    "required": ["seq", "at", "actor", "action", "payload", "hash", "prev_hash"],
    "properties": {
        "seq": {"type": "integer"},
        "at": TIMESTAMP,
        "actor": {"type": "string"},
        "action": {"type": "string"},
        "task_id": NULLABLE_STRING,
        "model_version_id": {"type": ["integer", "null"]},
        "payload": {
            "type": "object",
            "description": "as stored, except submitted values, which are shown as field names",
        },
        "prev_hash": {"type": "string"},
        "hash": {"type": "string"},
    },
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["file", "line", "element_id", "message"],
                "properties": {
                    "file": {"type": "string"},
                    "line": {"type": ["integer", "null"]},
                    "element_id": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

DATA_OBJECT = {
    "type": "object",
    "description": "field values; each is checked against the form's JSON Schema",
    "maxProperties": 500,
}

COMPONENTS: dict[str, Any] = {
    "WorkItem": WORK_ITEM,
    "WorkItemDetail": WORK_ITEM_DETAIL,
    "WorkItemPage": page_of("WorkItem"),
    "Case": CASE,
    "CaseDetail": CASE_DETAIL,
    "CaseSummary": CASE_SUMMARY,
    "CasePage": page_of("CaseSummary"),
    "ProcessModel": PROCESS_MODEL,
    "Deployed": DEPLOYED,
    "Event": EVENT,
    "Problem": PROBLEM,
}

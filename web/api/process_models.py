"""Process models over the API: list every deployed version, deploy a bundle (coordinator).

A deploy runs the engine's full validation; a refused bundle answers 422
with one entry per problem (file, line, element id, message) and stores
nothing.
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.bundle import bundle_from_uploads
from engine.deploy import deploy_bundle
from engine.errors import NotAuthorized
from engine.model_versions import list_models
from web import services
from web.api.auth import api_user
from web.api.schemas import ref
from web.api.spec import Reply, operation

UPLOAD_FIELD = "files"


@operation(
    "GET",
    "/process-models",
    summary="Every deployed version of every process, with its number of cases",
    tag="process models",
    responses={200: Reply("the versions", {"type": "array", "items": ref("ProcessModel")})},
)
def list_process_models() -> ResponseReturnValue:
    return jsonify(list_models(services.database()))


@operation(
    "POST",
    "/process-models",
    summary="Deploy a bundle of .bpmn, .dmn and form .json files (coordinator only)",
    tag="process models",
    multipart={
        "type": "object",
        "required": [UPLOAD_FIELD],
        "properties": {
            UPLOAD_FIELD: {
                "type": "array",
                "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                "description": "the bundle's files; each file name is its path in the bundle",
            }
        },
    },
    responses={
        201: Reply("at least one process got a new version", ref("Deployed")),
        200: Reply("nothing changed: every process is already deployed as sent", ref("Deployed")),
    },
    problems=(403, 413, 422),
)
def deploy_process_models() -> ResponseReturnValue:
    user = api_user()
    runtime = services.runtime()
    if not runtime.hooks.may_deploy(set(user.roles)):
        raise NotAuthorized(f"'{user.username}' may not deploy process models")
    uploads = [
        (upload.filename or "", upload.read()) for upload in request.files.getlist(UPLOAD_FIELD)
    ]
    bundle = bundle_from_uploads(uploads, services.settings().max_bundle_bytes)
    deployed = deploy_bundle(
        services.database(), bundle, user.username, runtime.hooks, runtime.clock
    )
    body = {
        "models": [
            {
                "key": d.key,
                "version": d.version,
                "content_hash": d.content_hash,
                "created": d.created,
            }
            for d in deployed
        ],
        "warnings": sorted({w for d in deployed for w in d.warnings}),
    }
    return jsonify(body), 201 if any(d.created for d in deployed) else 200

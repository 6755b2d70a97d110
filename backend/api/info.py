"""What this controller is and which runtimes it knows, without authentication: `GET /` (OpenWhisk's
info document) and `GET /api/v1` (the API's, here with the runtimes too, so clients find them there)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from .. import kinds, limits
from ..controller import Controller
from ..sequences import MAX_ATOMIC_ACTIONS
from .common import json_response

API_VERSION = "1.0.0"
BUILD = "squall-0.1.0"


def limits_doc() -> dict[str, int]:
    return {"actions_per_minute": limits.DEFAULT_INVOCATIONS_PER_MINUTE,
            "triggers_per_minute": limits.DEFAULT_FIRES_PER_MINUTE,
            "concurrent_actions": limits.DEFAULT_CONCURRENT_INVOCATIONS,
            "sequence_length": MAX_ATOMIC_ACTIONS,
            "min_action_duration": limits.TIMEOUT_MIN_MS, "max_action_duration": limits.TIMEOUT_MAX_MS,
            "min_action_memory": limits.MEMORY_MIN_MB * limits.MB,
            "max_action_memory": limits.MEMORY_MAX_MB * limits.MB,
            "min_action_logs": limits.LOGS_MIN_MB * limits.MB,
            "max_action_logs": limits.LOGS_MAX_MB * limits.MB}


def router(ctl: Controller) -> APIRouter:
    api = APIRouter()

    @api.get("/")
    async def info() -> Response:
        return json_response({"description": "Squall, an OpenWhisk-compatible serverless platform",
                              "support": {}, "api_paths": ["/api/v1"], "limits": limits_doc(),
                              "runtimes": kinds.runtimes_doc()})

    @api.get("/api/v1")
    async def api_info() -> Response:
        return json_response({"description": "Squall, an OpenWhisk-compatible serverless platform",
                              "api_version": API_VERSION, "api_version_path": "v1", "build": BUILD,
                              "buildno": BUILD, "swagger_paths": {}, "runtimes": kinds.runtimes_doc()})

    return api

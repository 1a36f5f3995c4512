"""JSON bodies of the console's API handlers: errors as {"error": …} and request bodies that must be objects."""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web


def json_error(kind: type, message: str, **extra: Any) -> web.HTTPException:
    """An HTTP error (kind: web.HTTPBadRequest, …) whose body is {"error": message, **extra}."""
    return kind(text=json.dumps({"error": message, **extra}, ensure_ascii=False), content_type="application/json")


async def json_object(request: web.Request) -> Dict[str, Any]:
    """The request's JSON object, or 400."""
    try:
        body = await request.json()
    except ValueError:
        raise json_error(web.HTTPBadRequest, "expected a JSON object") from None
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "expected a JSON object")
    return body

"""The API gateway's documents: one Swagger 2 document per namespace and base path."""

from __future__ import annotations

from typing import Any

from ..activations import now_ms
from .base import StoreBase, dumps
from ..jsontext import loads


class ApiStore(StoreBase):
    async def get_api(self, namespace: str, basepath: str) -> dict[str, Any] | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM apis WHERE namespace = ? AND basepath = ?", (namespace, basepath))
        return loads(rows[0][0]) if rows else None

    async def put_api(self, namespace: str, basepath: str, doc: dict[str, Any]) -> None:
        await self.write(
            "INSERT OR REPLACE INTO apis (namespace, basepath, doc, updated) VALUES (?, ?, ?, ?)",
            (namespace, basepath, dumps(doc), now_ms()))

    async def delete_api(self, namespace: str, basepath: str) -> bool:
        changed = await self.write("DELETE FROM apis WHERE namespace = ? AND basepath = ?",
                                       (namespace, basepath))
        return changed > 0

    async def list_apis(self, namespace: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(namespace, document) of every API, or of one namespace's, in base path order."""
        where, args = ("WHERE namespace = ?", (namespace,)) if namespace is not None else ("", ())
        rows = await self.db.execute_fetchall(
            f"SELECT namespace, doc FROM apis {where} ORDER BY namespace, basepath", args)
        return [(r[0], loads(r[1])) for r in rows]

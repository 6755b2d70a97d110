"""Actions and packages. An action in a package is stored with the package's path (`ns/pkg`) as its
namespace, as OpenWhisk's documents have it; a namespace's list covers its packages' actions too."""

from __future__ import annotations


from ..entities import Action, Package
from .base import StoreBase, dumps
from ..jsontext import loads

# `namespace` of every action under root `ns`: `ns` itself and `ns/...` ('/' + 1 is '0').
_UNDER_ROOT = "(namespace = ? OR (namespace > ? AND namespace < ?))"


def _root_args(root: str) -> tuple[str, str, str]:
    return root, root + "/", root + "0"


class EntityStore(StoreBase):
    # --- actions ------------------------------------------------------------------------------

    async def get_action(self, path: str, name: str) -> Action | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM actions WHERE namespace = ? AND name = ?", (path, name))
        return Action.from_json(loads(rows[0][0])) if rows else None

    async def put_action(self, action: Action) -> None:
        await self.write(
            "INSERT OR REPLACE INTO actions (namespace, name, doc, updated) VALUES (?, ?, ?, ?)",
            (action.namespace, action.name, dumps(action.to_json()), action.updated))

    async def delete_action(self, path: str, name: str) -> bool:
        changed = await self.write("DELETE FROM actions WHERE namespace = ? AND name = ?", (path, name))
        return changed > 0

    async def list_actions(self, root: str, skip: int, limit: int) -> list[Action]:
        """Every action of a namespace, those in its packages included, newest first."""
        rows = await self.db.execute_fetchall(
            f"SELECT doc FROM actions WHERE {_UNDER_ROOT} ORDER BY updated DESC LIMIT ? OFFSET ?",
            (*_root_args(root), limit, skip))
        return [Action.from_json(loads(r[0])) for r in rows]

    async def count_actions(self, root: str) -> int:
        rows = await self.db.execute_fetchall(f"SELECT COUNT(*) FROM actions WHERE {_UNDER_ROOT}",
                                              _root_args(root))
        return int(rows[0][0])

    async def package_actions(self, path: str, skip: int = 0, limit: int = -1) -> list[Action]:
        """The actions directly in the package at `path` (`ns/pkg`), newest first."""
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM actions WHERE namespace = ? ORDER BY updated DESC LIMIT ? OFFSET ?",
            (path, limit, skip))
        return [Action.from_json(loads(r[0])) for r in rows]

    async def count_package_actions(self, path: str) -> int:
        rows = await self.db.execute_fetchall("SELECT COUNT(*) FROM actions WHERE namespace = ?", (path,))
        return int(rows[0][0])

    # --- packages -----------------------------------------------------------------------------

    async def get_package(self, namespace: str, name: str) -> Package | None:
        rows = await self.db.execute_fetchall(
            "SELECT doc FROM packages WHERE namespace = ? AND name = ?", (namespace, name))
        return Package.from_json(loads(rows[0][0])) if rows else None

    async def put_package(self, package: Package) -> None:
        await self.write(
            "INSERT OR REPLACE INTO packages (namespace, name, doc, updated) VALUES (?, ?, ?, ?)",
            (package.namespace, package.name, dumps(package.to_json()), package.updated))

    async def delete_package(self, namespace: str, name: str, with_actions: bool = False) -> None:
        """Delete a package and, with `with_actions`, its actions, in one transaction."""
        actions = [("DELETE FROM actions WHERE namespace = ?", (f"{namespace}/{name}",))] if with_actions else []
        await self.atomic([*actions, ("DELETE FROM packages WHERE namespace = ? AND name = ?", (namespace, name))])

    async def list_packages(self, namespace: str, skip: int, limit: int, *,
                            shared_only: bool = False) -> list[Package]:
        """A namespace's packages and bindings, newest first; `shared_only`: published packages only
        (what another namespace may see)."""
        shared = " AND json_extract(doc, '$.publish') = 1 AND json_extract(doc, '$.binding') = '{}'" \
            if shared_only else ""
        rows = await self.db.execute_fetchall(
            f"SELECT doc FROM packages WHERE namespace = ?{shared} ORDER BY updated DESC LIMIT ? OFFSET ?",
            (namespace, limit, skip))
        return [Package.from_json(loads(r[0])) for r in rows]

    async def collection_of(self, namespace: str, name: str) -> str | None:
        """Which collection holds `namespace/name` (they share one name space, as in OpenWhisk)."""
        for collection in ("actions", "packages", "triggers", "rules"):
            rows = await self.db.execute_fetchall(
                f"SELECT 1 FROM {collection} WHERE namespace = ? AND name = ?", (namespace, name))
            if rows:
                return collection
        return None

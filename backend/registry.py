"""Actions and packages as OpenWhisk keeps them: cached reads, writes with OpenWhisk's rules for
packages and bindings, and the resolution of a name to what runs, with whose rights and which
parameters.

Who may do what outside their own namespace: read, bind to, list and invoke the actions of a
published package; nothing else (and never through another namespace's binding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors as X
from . import kinds
from .entities import Action, Package
from .errors import EntityError
from .names import DEFAULT_PACKAGE, SYSTEM_NAMESPACE, EntityName
from .store import Identity, Store

BINDING_DOES_NOT_EXIST = "Binding references a package that does not exist."
PACKAGE_CANNOT_BECOME_BINDING = "Resource is a package and cannot be converted into a binding."
BINDING_OF_BINDING = "Cannot bind to another package binding."
BINDING_NOT_A_PACKAGE = "Cannot bind to a resource that is not a package."
OPERATION_ON_BINDING = "Operation not permitted on package binding."


def package_reserved(name: str) -> str:
    return f"Package name '{name}' is reserved."


def package_not_empty(count: int) -> str:
    noun = "entity" if count == 1 else "entities"
    return f"Package not empty (contains {count} {noun}). Set force param or delete package contents."


def owns(who: Identity | None, namespace: str) -> bool:
    """The caller's own namespace; the system key acts as the owner of every namespace, and so
    does `None`: a resolution on behalf of the platform (a nested sequence's components)."""
    return who is None or who.namespace == namespace or who.namespace == SYSTEM_NAMESPACE


def forbidden(resource: str) -> EntityError:
    return EntityError(403, X.not_authorized(resource))


@dataclass
class Resolved:
    """An action as a caller reaches it: through its package or a binding, with merged parameters."""

    action: Action
    parameters: dict[str, Any]  # package < binding < action
    binding: str | None = None  # `ns/binding` when reached through one
    immutable: frozenset[str] = field(default_factory=frozenset)

    @property
    def name(self) -> EntityName:
        """The name by which activations list it: the binding's package when there is one."""
        fqn = self.action.fqn
        if self.binding is not None:
            return EntityName(fqn.namespace, self.binding.split("/", 1)[1], fqn.name)
        return fqn

    def check_overrides(self, params: dict[str, Any], reserved: frozenset[str] = frozenset()) -> None:
        """A request may not set a final parameter (or a reserved one): OpenWhisk's 400."""
        if params and not (self.immutable | reserved).isdisjoint(params):
            raise EntityError(400, X.PARAMETERS_NOT_ALLOWED)

    def document(self, code: bool) -> dict[str, Any]:
        """What GET shows: the action with the parameters it runs with."""
        doc = self.action.to_json(code=code)
        doc["parameters"] = [{"key": k, "value": v} for k, v in self.parameters.items()]
        return doc


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._actions: dict[tuple[str, str], Action] = {}
        self._packages: dict[tuple[str, str], Package] = {}

    # --- reads --------------------------------------------------------------------------------

    async def action(self, path: str, name: str) -> Action:
        """The action at `path` (`ns` or `ns/pkg`); 404, or 409 when the name is not an action."""
        action = self._actions.get((path, name))
        if action is None:
            action = await self.store.get_action(path, name)
            if action is None:
                await self._not_found(path, name, "actions")
            self._actions[(path, name)] = action
        return action

    async def package(self, namespace: str, name: str) -> Package | None:
        package = self._packages.get((namespace, name))
        if package is None:
            package = await self.store.get_package(namespace, name)
            if package is not None:
                self._packages[(namespace, name)] = package
        return package

    async def _not_found(self, path: str, name: str, collection: str) -> Any:
        if "/" not in path and await self.store.collection_of(path, name) not in (None, collection):
            raise EntityError(409, X.RESOURCE_NOT_IN_COLLECTION)
        raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)

    async def readable_package(self, who: Identity | None, namespace: str, name: str) -> Package:
        """A package the caller may read: its own (package or binding), or a published package."""
        package = await self.package(namespace, name)
        if not owns(who, namespace):
            if package is None or not package.publish or package.binding is not None:
                raise forbidden(f"{namespace}/{name}")
            return package
        if package is None:
            await self._not_found(namespace, name, "packages")
        assert package is not None
        return package

    async def bound(self, binding: Package) -> Package:
        """What a binding points to, if the binding's owner may still read it."""
        target = binding.binding
        assert target is not None
        package = await self.package(target.namespace, target.name)
        if package is None:
            if binding.namespace == target.namespace:
                raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)
            raise forbidden(f"{target.namespace}/{target.name}")
        if package.binding is not None:
            raise EntityError(404, X.RESOURCE_DOES_NOT_EXIST)
        if package.namespace != binding.namespace and not package.publish:
            raise forbidden(f"{target.namespace}/{target.name}")
        return package

    async def resolve(self, who: Identity | None, fqn: EntityName) -> Resolved:
        """The action `fqn` names, as `who` may read or invoke it (entitlement, bindings, parameters).
        An action outside a package is only its owner's (the routes have checked that)."""
        if fqn.package is None:
            action = await self.action(fqn.namespace, fqn.name)
            return self._resolved(action, [action.param_dict()], None, None)
        package = await self.readable_package(who, fqn.namespace, fqn.package)
        if package.binding is None:
            action = await self.action(package.path, fqn.name)
            return self._resolved(action, [package.param_dict(), action.param_dict()], package, None)
        real = await self.bound(package)
        action = await self.action(real.path, fqn.name)
        return self._resolved(action, [real.param_dict(), package.param_dict(), action.param_dict()],
                              real, package.path)

    @staticmethod
    def _resolved(action: Action, layers: list[dict[str, Any]], package: Package | None,
                  binding: str | None) -> Resolved:
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer)
        final = action.annotation("final") is True or (package is not None and package.annotation("final") is True)
        immutable = frozenset(k for k, v in merged.items() if v is not None) if final else frozenset()
        return Resolved(action, merged, binding, immutable)

    async def package_document(self, who: Identity, namespace: str, name: str) -> dict[str, Any]:
        """GET of a package: its document with its `actions` and `feeds`; for a binding, the bound
        package's, and the bound package's parameters under the binding's."""
        package = await self.readable_package(who, namespace, name)
        doc = package.to_json()
        contents = package
        if package.binding is not None:
            contents = await self.bound(package)
            doc["parameters"] = [{"key": k, "value": v}
                                 for k, v in {**contents.param_dict(), **package.param_dict()}.items()]
        actions = await self.store.package_actions(contents.path)
        entries = [{"name": a.name, "version": a.version, "annotations": a.annotations} for a in actions]
        doc["actions"] = [e for a, e in zip(actions, entries) if a.annotation("feed") is None]
        doc["feeds"] = [e for a, e in zip(actions, entries) if a.annotation("feed") is not None]
        return doc

    # --- writes -------------------------------------------------------------------------------

    async def put_action(self, fqn: EntityName, body: Any, overwrite: bool,
                         components: list[str] | None = None) -> Action:
        """Create or replace an action; in a package, the package must exist and not be a binding.
        A sequence's `components` come resolved by the caller (see sequences.validate)."""
        if fqn.package is not None:
            package = await self.package(fqn.namespace, fqn.package)
            if package is None:
                await self._not_found(fqn.namespace, fqn.package, "packages")
            assert package is not None
            if package.binding is not None:
                raise EntityError(400, OPERATION_ON_BINDING)
        existing = await self.store.get_action(fqn.path, fqn.name)
        if existing is None and fqn.package is None and \
                await self.store.collection_of(fqn.namespace, fqn.name) not in (None, "actions"):
            raise EntityError(409, X.RESOURCE_NOT_IN_COLLECTION)
        if existing is not None and not overwrite:
            raise EntityError(409, X.RESOURCE_EXISTS)
        action = Action.from_put(fqn.path, fqn.name, body, existing)
        if action.is_sequence:  # its parameters are its components, whatever the body says
            components = action.components if components is None else components
            action.exec = {"kind": kinds.SEQUENCE, "components": components}
            action.parameters = [{"key": "_actions", "value": components}]
        elif existing is not None and existing.is_sequence and "parameters" not in (body or {}):
            action.parameters = []
        await self.store.put_action(action)
        self._actions[(fqn.path, fqn.name)] = action
        return action

    async def install(self, action: Action) -> None:
        """A system action written as it is (a built-in feed, which no PUT may create)."""
        await self.store.put_action(action)
        self._actions[(action.namespace, action.name)] = action

    async def delete_action(self, fqn: EntityName) -> Action:
        if fqn.package is not None:
            package = await self.package(fqn.namespace, fqn.package)
            if package is not None and package.binding is not None:
                raise EntityError(400, OPERATION_ON_BINDING)
        action = await self.action(fqn.path, fqn.name)
        await self.store.delete_action(fqn.path, fqn.name)
        self._actions.pop((fqn.path, fqn.name), None)
        return action

    async def put_package(self, who: Identity, namespace: str, name: str, body: Any,
                          overwrite: bool) -> Package:
        if name == DEFAULT_PACKAGE:
            raise EntityError(400, package_reserved(name))
        if isinstance(body, dict) and isinstance(body.get("binding"), dict) \
                and body["binding"].get("namespace") == "_":
            body = {**body, "binding": {**body["binding"], "namespace": namespace}}
        existing = await self.store.get_package(namespace, name)
        package = Package.from_put(namespace, name, body, existing)
        if package.binding is not None:
            await self._check_binding_target(who, package)
        if existing is None and await self.store.collection_of(namespace, name) not in (None, "packages"):
            raise EntityError(409, X.RESOURCE_NOT_IN_COLLECTION)
        if existing is not None:
            if not overwrite:
                raise EntityError(409, X.RESOURCE_EXISTS)
            if existing.binding is None and package.binding is not None:
                raise EntityError(409, PACKAGE_CANNOT_BECOME_BINDING)
        package.annotations = [a for a in package.annotations if a["key"] != "binding"]
        if package.binding is not None:
            package.annotations.append({"key": "binding", "value": {
                "namespace": package.binding.namespace, "name": package.binding.name}})
        await self.store.put_package(package)
        self._packages[(namespace, name)] = package
        return package

    async def _check_binding_target(self, who: Identity, binding: Package) -> None:
        target = binding.binding
        assert target is not None
        if (target.namespace, target.name) == (binding.namespace, binding.name):
            raise EntityError(400, BINDING_OF_BINDING)
        package = await self.package(target.namespace, target.name)
        if not owns(who, target.namespace):
            if package is None or not package.publish:
                raise forbidden(f"{target.namespace}/{target.name}")
        elif package is None:
            if await self.store.collection_of(target.namespace, target.name) not in (None, "packages"):
                raise EntityError(409, BINDING_NOT_A_PACKAGE)
            raise EntityError(400, BINDING_DOES_NOT_EXIST)
        if package.binding is not None:
            raise EntityError(400, BINDING_OF_BINDING)

    async def delete_package(self, namespace: str, name: str, force: bool) -> Package:
        package = await self.package(namespace, name)
        if package is None:
            await self._not_found(namespace, name, "packages")
        assert package is not None
        inside = await self.store.count_package_actions(package.path) if package.binding is None else 0
        if inside and not force:
            raise EntityError(409, package_not_empty(inside))
        await self.store.delete_package(namespace, name, with_actions=bool(inside))
        self._packages.pop((namespace, name), None)
        for key in [k for k in self._actions if k[0] == package.path]:
            del self._actions[key]
        return package

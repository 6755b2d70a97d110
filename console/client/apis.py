"""API gateway routes, managed the way the ``wsk`` CLI does: through the web actions of the
``whisk.system/apimgmt`` package, called with the user's own key."""

from __future__ import annotations

from .base import D, Endpoints, I, L, S
from .calls import Call, JsonDict

#: Where the management web actions live; ``.http`` because they answer HTTP descriptors.
APIMGMT = "/api/v1/web/whisk.system/apimgmt"
#: What the CLI sends as ``accesstoken`` when wskprops has no ``APIGW_ACCESS_TOKEN``.
DUMMY_ACCESS_TOKEN = "DUMMY TOKEN"


class ApiEndpoints(Endpoints[D, L, S, I]):
    """``createApi``, ``getApi`` and ``deleteApi`` of ``whisk.system/apimgmt``. Every call carries
    ``accesstoken`` (which selects the gateway's token path) and ``spaceguid``, the tenant: the
    uuid half of the caller's key unless told otherwise."""

    def _gateway_params(
        self, access_token: str | None, space_guid: str | None, **params: str | None
    ) -> dict[str, str]:
        guid = space_guid or (self.auth or "").partition(":")[0]
        query = {key: value for key, value in params.items() if value}
        query["accesstoken"] = access_token or DUMMY_ACCESS_TOKEN
        if guid:
            query["spaceguid"] = guid
        return query

    def create_api(
        self,
        apidoc: JsonDict,
        response_type: str = "json",
        access_token: str | None = None,
        space_guid: str | None = None,
    ) -> D:
        """Add a route (or a whole swagger) to an API; returns ``{gwApiUrl, apidoc, ...}``."""
        params = self._gateway_params(access_token, space_guid, responsetype=response_type)
        return self._run(
            Call("POST", f"{APIMGMT}/createApi.http", params=params, json={"apidoc": apidoc})
        )

    def get_apis(
        self,
        basepath: str | None = None,
        relpath: str | None = None,
        operation: str | None = None,
        limit: int | None = None,
        skip: int | None = None,
        access_token: str | None = None,
        space_guid: str | None = None,
    ) -> D:
        """``{"apis": [{"id", "key", "value": {gwApiUrl, apidoc, ...}}]}``: all of the tenant's
        APIs, or the one whose base path (or, not starting with ``/``, name) is ``basepath``."""
        params = self._gateway_params(
            access_token,
            space_guid,
            basepath=basepath,
            relpath=relpath,
            operation=operation,
            limit=None if limit is None else str(limit),
            skip=None if skip is None else str(skip),
        )
        return self._run(Call("GET", f"{APIMGMT}/getApi.http", params=params))

    def delete_api(
        self,
        basepath: str,
        relpath: str | None = None,
        operation: str | None = None,
        access_token: str | None = None,
        space_guid: str | None = None,
    ) -> D:
        """Delete an API, one path of it, or one operation of a path."""
        params = self._gateway_params(
            access_token, space_guid, basepath=basepath, relpath=relpath, operation=operation
        )
        return self._run(Call("DELETE", f"{APIMGMT}/deleteApi.http", params=params))

"""The data-lake API: instances, credentials, browsing (scopes, DIDs, replicas, RSEs) and rules.

Thin handlers: read the request, call one :class:`vrelab.lake.LakeService` method in a thread
(rucio-clients blocks), write its JSON. The contract is ``openapi/lake.yaml``.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import BadRequest
from ..lake import LakeService
from .base import VRELabHandler
from .route import Route

# A DID is scope:name and a name may contain '/': the DID takes the rest of the path (the
# sub-resources match first, lazily). Its ':' and '/' may also arrive percent-encoded.
DID_REST = r".+"
DID_LAZY = r".+?"


class LakeHandler(VRELabHandler):
    auth_resource = "vrelab:lake"

    @property
    def lake(self) -> LakeService:
        return self.services.lake

    def query(self, name: str) -> str | None:
        return self.query_text(name)


class InstancesHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"instances": await self.blocking(self.lake.list_instances)})


class CredentialsHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        self.write_json(await self.blocking(self.lake.credentials, instance))

    @web.authenticated
    @authorized
    async def put(self, instance: str) -> None:
        self.write_json(await self.blocking(self.lake.save_credentials, instance, self.json_body()))

    @web.authenticated
    @authorized
    async def delete(self, instance: str) -> None:
        await self.blocking(self.lake.forget_credentials, instance)
        self.set_status(204)
        self.finish()


class WhoamiHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        self.write_json(await self.blocking(self.lake.whoami, instance))


class ScopesHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        self.write_json({"scopes": await self.blocking(self.lake.scopes, instance)})


class DIDSearchHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        pattern = self.query("pattern")
        if pattern is None:
            raise BadRequest("Give a 'pattern' such as ATLAS_OD_EDU:* or ATLAS_OD_EDU:GamGam*.")
        limit, offset = self.page_args()
        result = await self.blocking(
            self.lake.search,
            instance,
            pattern,
            did_type=self.query("type") or "all",
            filters=self.query("filters"),
            sort=self.query("sort"),
            limit=limit,
            offset=offset,
        )
        self.write_json(result)


class DIDHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, did: str) -> None:
        self.write_json(await self.blocking(self.lake.did, instance, did))


class DIDChildrenHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, did: str) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.lake.children, instance, did, limit=limit, offset=offset))


class DIDParentsHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, did: str) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.lake.parents, instance, did, limit=limit, offset=offset))


class DIDReplicasHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, did: str) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.lake.replicas, instance, did, limit=limit, offset=offset))


class DIDRulesHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, did: str) -> None:
        limit, offset = self.page_args()
        self.write_json(await self.blocking(self.lake.did_rules, instance, did, limit=limit, offset=offset))


class RSEsHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        self.write_json(await self.blocking(self.lake.rses, instance, expression=self.query("expression")))


class RSEHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, rse: str) -> None:
        self.write_json(await self.blocking(self.lake.rse, instance, rse))


class RulesHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str) -> None:
        limit, offset = self.page_args()
        state = self.query("state")
        self.write_json(await self.blocking(self.lake.rules, instance, state=state, limit=limit, offset=offset))

    @web.authenticated
    @authorized
    async def post(self, instance: str) -> None:
        self.write_json(await self.blocking(self.lake.add_rule, instance, self.json_body()), status=201)


class RuleHandler(LakeHandler):
    @web.authenticated
    @authorized
    async def get(self, instance: str, rule_id: str) -> None:
        self.write_json(await self.blocking(self.lake.rule, instance, rule_id))

    @web.authenticated
    @authorized
    async def delete(self, instance: str, rule_id: str) -> None:
        self.write_json(await self.blocking(self.lake.delete_rule, instance, rule_id), status=202)


_I = "/lake/instances/{instance}"
ROUTES = [
    Route("/lake/instances", InstancesHandler),
    Route(f"{_I}/credentials", CredentialsHandler),
    Route(f"{_I}/whoami", WhoamiHandler),
    Route(f"{_I}/scopes", ScopesHandler),
    Route(f"{_I}/dids", DIDSearchHandler),
    # the sub-resources before the DID itself (its name may contain '/')
    Route(f"{_I}/dids/{{did}}/children", DIDChildrenHandler, {"did": DID_LAZY}),
    Route(f"{_I}/dids/{{did}}/parents", DIDParentsHandler, {"did": DID_LAZY}),
    Route(f"{_I}/dids/{{did}}/replicas", DIDReplicasHandler, {"did": DID_LAZY}),
    Route(f"{_I}/dids/{{did}}/rules", DIDRulesHandler, {"did": DID_LAZY}),
    Route(f"{_I}/dids/{{did}}", DIDHandler, {"did": DID_REST}),
    Route(f"{_I}/rses", RSEsHandler),
    Route(f"{_I}/rses/{{rse}}", RSEHandler),
    Route(f"{_I}/rules", RulesHandler),
    Route(f"{_I}/rules/{{rule_id}}", RuleHandler),
]

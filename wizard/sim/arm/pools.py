"""Agent pools: reads, PUT and DELETE."""
from __future__ import annotations

import copy
from typing import Any

from wizard.sim import latency

from .rooms import Base
from .wire import (CS, NOT_FOUND_FIX, Request, Response, aks_error, arm_error)
from . import build, validate


class Pools(Base):
    # ------------------------------------------------------------------------------------ pools
    def list_pools(self, req: Request, rg: str, name: str) -> Response:
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        return Response(200, {"value": self.served_pools(rec)})

    def pool(self, req: Request, rg: str, name: str, pool: str) -> Response:
        if req.method == "PUT":
            self._throttle("PutAgentPoolHandler")
        self._require_rg(rg)
        ckey = self._ckey(rg, name)
        rec = self.world.clusters.get(ckey)
        if rec is None:
            raise self._cluster_not_found(rg, name)
        pkey = pool.lower()
        if req.method == "GET":
            p = rec["pools"].get(pkey)
            if p is None:
                return arm_error(404, "ResourceNotFound",
                                 f"The Resource '{CS}/managedClusters/{name}/agentPools/{pool}' under resource "
                                 f"group '{rg}' was not found. {NOT_FOUND_FIX}")
            return Response(200, copy.deepcopy(p))
        if req.method == "DELETE":
            return self.delete_pool(req, rec, ckey, pkey, rg, name, pool)
        return self.put_pool(req, rec, ckey, pkey, rg, name, pool)

    def put_pool(self, req: Request, rec: dict[str, Any], ckey: str, pkey: str, rg: str, name: str,
                 pool: str) -> Response:
        try:
            body = req.json()
        except ValueError:
            return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        self._foreign_operation(ckey, rg, name, None)
        busy = self._busy(ckey, pkey)
        if busy:
            raise self._conflict(busy, rg, name)
        props = dict((body or {}).get("properties") or {})
        loc = rec["body"]["location"]
        cprops = rec["body"]["properties"]
        patch = validate.check_pool(self, pool, props, loc, cprops["kubernetesVersion"], cprops["currentKubernetesVersion"])
        others = {k: p["properties"] for k, p in rec["pools"].items() if k != pkey}
        validate.check_network(self, ckey, cprops, cprops, {**others, pkey: props}, True)
        gpu_pools = validate.check_quota(self, ckey, {pkey: props}, loc)
        old = rec["pools"].get(pkey)
        existed = old is not None
        if not existed and not props.get("mode"):
            props["mode"] = "User"
        rec["pools"][pkey] = build.complete_pool(self, rec["body"]["id"], pool, props, old, patch,
                                                 props.get("orchestratorVersion") or cprops["kubernetesVersion"],
                                                 loc, "Updating" if existed else "Creating",
                                                 build.default_max_pods(cprops))
        outcome: dict[str, Any] = {"status": "Succeeded"}
        failed: list[str] = []
        if "sku-unavailable" in self.faults and gpu_pools:
            failed = [pkey]
            outcome = {"status": "Failed", "error": self._sku_error(rec, pkey, loc)}
        op = self._new_op("pool_put", loc, latency.agent_pool_put_typical(existed, self.typical),
                          cluster=ckey, pool=pkey, touched=[pkey], outcome=outcome, failed_pools=failed,
                          created=not existed)
        return Response(200 if existed else 201, copy.deepcopy(rec["pools"][pkey]),
                        {"Azure-AsyncOperation": self._op_url(loc, op["id"], req)}, changed=True,
                        drop=self._drop_once(f"{ckey}/{pkey}"))

    def delete_pool(self, req: Request, rec: dict[str, Any], ckey: str, pkey: str, rg: str, name: str,
                    pool: str) -> Response:
        p = rec["pools"].get(pkey)
        if p is None:
            return Response(204)
        busy = self._busy(ckey, pkey)
        if busy:
            raise self._conflict(busy, rg, name)
        others = [q for k, q in rec["pools"].items() if k != pkey]
        if str(p["properties"].get("mode")).lower() == "system" and not any(
                str(q["properties"].get("mode")).lower() == "system" for q in others):
            return aks_error(400, "OperationNotAllowed",
                             "Cannot delete the last system node pool: a managed cluster must have at least one "
                             "System mode node pool.")
        p["properties"]["provisioningState"] = "Deleting"
        loc = rec["body"]["location"]
        op = self._new_op("pool_delete", loc, self.typical.agent_pool_delete, cluster=ckey, pool=pkey)
        return Response(202, None, {"Azure-AsyncOperation": self._op_url(loc, op["id"], req),
                                    "Location": self._op_url(loc, op["id"], req, results=True)}, changed=True)

"""Time, long-running operations and their completion, and the guards of a write (busy, conflict, throttle)."""
from __future__ import annotations

import secrets
from typing import Any

from wizard.sim import latency
from wizard.sim.state import new_id

from .rooms import Base
from .wire import (CS, Request, Response, _get, _Reject, aks_error, arm_error, iso)
import time


class Operations(Base):
    # ------------------------------------------------------------------------------------ time
    def now(self) -> float:
        return time.time()

    def duration(self, typical: float) -> float:
        return latency.scaled(typical, self.speed)

    def advance(self) -> bool:
        """Complete everything whose time has come (nothing while held). Returns True if anything changed."""
        if self.held:
            return False
        now = self.now()
        changed = False
        for rec in self.world.features.values():
            if rec["state"] == "Registering" and rec.get("ready_at") is not None and rec["ready_at"] <= now:
                rec["state"], rec["ready_at"] = "Registered", None
                changed = True
            elif rec["state"] == "Unregistering" and rec.get("ready_at") is not None and rec["ready_at"] <= now:
                rec["state"], rec["ready_at"] = "Unregistered", None
                changed = True
        for rec in self.world.providers.values():
            if rec["state"] in ("Registering", "Unregistering") and (rec.get("ready_at") or 0) <= now:
                rec["state"] = "Registered" if rec["state"] == "Registering" else "Unregistered"
                rec["ready_at"] = None
                changed = True
        for op in sorted(self.world.operations.values(), key=lambda o: o["start"]):
            if not op["done"] and op["start"] + op["duration"] <= now:
                self._complete(op)
                changed = True
        if changed:
            self.world.revision += 1  # the simulator saves before a read answers with what changed here
        return changed

    def release(self, complete: bool = True) -> bool:
        """End a hold. With `complete`, whatever is pending becomes due now (operations, registrations,
        monitor resources) so it completes at once; otherwise it keeps its own simulated durations."""
        self.held = False
        if complete:
            now = self.now()
            for op in self.world.operations.values():
                if not op["done"]:
                    op["duration"] = min(op["duration"], max(0.0, now - op["start"]))
            for rec in (*self.world.features.values(), *self.world.providers.values(),
                        *self.world.monitor.values()):
                if rec.get("ready_at") is not None and rec["ready_at"] > now:
                    rec["ready_at"] = now
        return self.advance()

    def _busy(self, ckey: str, pool: str | None = None) -> dict[str, Any] | None:
        """An in-flight operation that blocks a new one on this cluster (or this pool)."""
        for op in self.world.operations.values():
            if op["done"] or op.get("cluster") != ckey:
                continue
            if op["kind"].startswith("cluster") or pool is None or op.get("pool") == pool:
                return op
        return None

    def _conflict(self, op: dict[str, Any], rg: str, name: str) -> _Reject:
        if op["kind"] in ("pool_put", "pool_delete"):
            rec = self.world.clusters[op["cluster"]]
            p = rec["pools"].get(op["pool"]) or {"name": op["pool"], "properties": {}}
            state = _get(p, "properties", "provisioningState") or "Updating"
            return _Reject(arm_error(409, "OperationNotAllowed",
                                     f"Operation is not allowed: Another agentpool operation ({p['name']} - {state}) "
                                     "is in progress, please wait for it to finish before starting a new operation. "
                                     "See https://aka.ms/aks-pending-operation for more details"))
        verb = {"cluster_delete": "delete managed cluster"}.get(op["kind"],
                                                                "create managed cluster" if op.get("created") else "update managed cluster")
        return _Reject(arm_error(409, "OperationNotAllowed",
                                 f"Operation is not allowed because there's an in progress {verb} operation "
                                 f"(operation ID: {op['id']}) on the managed cluster started on UTC "
                                 f"{iso(op['start'])[:19]}Z. Please wait for it to finish before starting a new "
                                 f"operation. You can also use 'az aks operation-abort --resource-group {rg} "
                                 f"--name {name}' to abort the ongoing operation."))

    def _throttle(self, handler: str) -> None:
        f = self.faults.get("throttle")
        if f:
            raise _Reject(aks_error(429, f.code, f.message.format(handler=handler, subscription=self.world.subscription_id),
                                    headers={"Retry-After": str(f.retry_after)}))

    def _foreign_operation(self, ckey: str, rg: str, name: str, location: Any) -> None:
        """The `conflict` fault: at the first write to a cluster, another client's operation already runs on it,
        started a while ago (an update of the cluster, or the delete of an earlier cluster of that name), so the
        write meets AKS's ordinary 409 until that operation ends. Once per cluster per process."""
        if "conflict" not in self.faults or ckey in self._conflicted or self._busy(ckey):
            return
        self._conflicted.add(ckey)
        rec = self.world.clusters.get(ckey)
        ahead = self.duration(95.0)  # it started 95 simulated seconds before our write
        if rec is not None:
            rec["body"]["properties"]["provisioningState"] = "Updating"
            self._new_op("cluster_put", rec["body"]["location"], self.typical.cluster_update,
                         start=self.now() - ahead, cluster=ckey)
            return
        loc = str(location or "").replace(" ", "").lower() or next(iter(self.locations))
        cluster_id = (f"/subscriptions/{self.world.subscription_id}/resourceGroups/{rg}/providers/{CS}/"
                      f"managedClusters/{name}")
        self.world.clusters[ckey] = {
            "rg": rg.lower(), "name": name, "kube_id": secrets.token_hex(4), "synced": True, "pools": {},
            "body": {"id": cluster_id, "name": name, "type": f"{CS}/managedClusters", "location": loc, "tags": {},
                     "properties": {"provisioningState": "Deleting", "nodeResourceGroup": f"MC_{rg}_{name}_{loc}"}}}
        self._new_op("cluster_delete", loc, self.typical.cluster_delete, start=self.now() - ahead, cluster=ckey)

    def _drop_once(self, key: str) -> bool:
        """The `connection-drop` fault: the first accepted PUT of each resource loses its response."""
        if "connection-drop" not in self.faults or key in self._dropped:
            return False
        self._dropped.add(key)
        return True

    # ------------------------------------------------------------------------------------ operations
    def _op_url(self, loc: str, op_id: str, req: Request, results: bool = False) -> str:
        kind = "operationresults" if results else "operations"
        return (f"{self.base_url}/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{loc}/"
                f"{kind}/{op_id}?api-version={self.api_version(req)}")

    def _new_op(self, kind: str, loc: str, typical: float, start: float | None = None, **extra: Any) -> dict[str, Any]:
        op_id = new_id()
        op = {"id": op_id, "kind": kind, "location": loc, "start": start if start is not None else self.now(),
              "duration": self.duration(typical), "typical": typical, "done": False, "end": None,
              "outcome": {"status": "Succeeded"}, "failed_pools": [], "touched": [], "cluster": None, "pool": None,
              "rg": None, "created": False}
        op.update(extra)
        self.world.operations[op_id] = op
        return op

    def op_status_body(self, op: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f"/subscriptions/{self.world.subscription_id}/providers/{CS}/locations/{op['location']}/operations/{op['id']}",
            "name": op["id"], "startTime": iso(op["start"])}
        if op["done"]:
            out["status"] = op["outcome"]["status"]
            out["endTime"] = iso(op["end"] or op["start"] + op["duration"])
            if op["outcome"].get("error"):
                out["error"] = op["outcome"]["error"]
            else:
                out["percentComplete"] = 100.0
        else:
            out["status"] = "InProgress"
            elapsed = self.now() - op["start"]
            out["percentComplete"] = round(min(99.0, 100.0 * elapsed / op["duration"]) if op["duration"] else 0.0, 1)
        return out

    def latest_operation(self, req: Request, rg: str, name: str, pool: str | None = None) -> Response:
        """operations/latest of a cluster or pool: served by the preview API versions only, as in AKS."""
        if not self.api_version(req).endswith("-preview"):
            return arm_error(400, "NoRegisteredProviderFound",
                             f"No registered resource provider found for location and API version "
                             f"'{self.api_version(req)}' for type 'managedClusters/operations'.")
        self._require_rg(rg)
        ckey = self._ckey(rg, name)
        if ckey not in self.world.clusters:
            raise self._cluster_not_found(rg, name)
        ops = [o for o in self.world.operations.values() if o.get("cluster") == ckey
               and (pool is None or o.get("pool") == pool.lower())]
        if not ops:
            return arm_error(404, "NotFound", "No operation was found for this resource.")
        return Response(200, self.op_status_body(max(ops, key=lambda o: o["start"])))

    def operation_status(self, req: Request, loc: str, op: str) -> Response:
        rec = self.world.operations.get(op)
        if rec is None:
            return arm_error(404, "NotFound", f"Operation '{op}' was not found.")
        if "status-drop" in self.faults:
            return Response(0, drop=True)
        return Response(200, self.op_status_body(rec))

    def operation_result(self, req: Request, loc: str, op: str) -> Response:
        rec = self.world.operations.get(op)
        if rec is None:
            return arm_error(404, "NotFound", f"Operation '{op}' was not found.")
        if "status-drop" in self.faults:
            return Response(0, drop=True)
        if not rec["done"]:
            return Response(202, None, {"Location": self._op_url(loc, op, req, results=True)})
        if rec["outcome"]["status"] != "Succeeded":
            return Response(200, {"error": rec["outcome"].get("error")})
        return Response(204)

    def _complete(self, op: dict[str, Any]) -> None:
        op["done"] = True
        op["end"] = op["start"] + op["duration"]
        kind = op["kind"]
        if kind == "rg_delete":
            self._delete_group_now(op["rg"])
            return
        if kind == "workspace_delete":
            self.world.monitor.pop(op["resource"], None)
            return
        rec = self.world.clusters.get(op["cluster"] or "")
        if rec is None:
            return
        if kind == "cluster_delete":
            self._delete_cluster_now(op["cluster"])
            return
        if kind == "pool_delete":
            rec["pools"].pop(op["pool"], None)
            self._sync(rec)
            return
        ok = op["outcome"]["status"] == "Succeeded"
        failed = set(op.get("failed_pools") or [])
        for pkey in op.get("touched") or []:
            p = rec["pools"].get(pkey)
            if p is not None:
                p["properties"]["provisioningState"] = "Failed" if (not ok and (pkey in failed or not failed)) else "Succeeded"
        if kind == "cluster_put":
            rec["body"]["properties"]["provisioningState"] = "Succeeded" if ok else "Failed"
            # as the 2026-08-01 API reports it: the error of the last failed operation on the cluster
            if ok:
                rec["body"]["properties"].pop("status", None)
            else:
                rec["body"]["properties"]["status"] = {"provisioningError": op["outcome"].get("error")}
        if ok or rec.get("synced"):
            self._sync(rec)

    def _sync(self, rec: dict[str, Any]) -> None:
        kube = self.kube
        if rec["body"]["properties"].get("provisioningState") == "Failed" and not rec.get("synced"):
            return
        rec["synced"] = True
        if kube is None:
            return
        pools = [p for p in self.served_pools(rec) if p["properties"].get("provisioningState") != "Failed"]
        cluster = self.served_cluster(rec)
        cluster["properties"]["agentPoolProfiles"] = [
            {"name": p["name"], **p["properties"]} for p in pools]
        kube.sync_cluster(rec["kube_id"], cluster, pools)

    def _delete_cluster_now(self, ckey: str) -> None:
        rec = self.world.clusters.pop(ckey, None)
        if rec is None:
            return
        from wizard.sim import monitor
        monitor.forget_cluster(self, ckey)
        nrg = str(rec["body"]["properties"].get("nodeResourceGroup") or "").lower()
        g = self.world.resource_groups.get(nrg)
        if g and str(g["body"].get("managedBy", "")).lower() == rec["body"]["id"].lower():
            self.world.resource_groups.pop(nrg, None)
        kube = self.kube
        if kube is not None:
            kube.remove_cluster(rec["kube_id"])

    def _delete_group_now(self, rg: str) -> None:
        for ckey in [k for k, c in self.world.clusters.items() if c["rg"] == rg]:
            self._delete_cluster_now(ckey)
        from wizard.sim import monitor
        monitor.forget_group(self, rg)
        self.world.resource_groups.pop(rg, None)


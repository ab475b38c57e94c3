"""Managed clusters: reads, credentials and the PUT."""
from __future__ import annotations

import base64
import copy
import secrets
from typing import Any

from wizard.sim import latency
from wizard.sim.credential import KUBE_TOKEN
from wizard.sim.faults import FAULTS

from .rooms import Base
from . import build, validate
from .catalog import _vmss_suffix
from .validate import ClusterPut
from .wire import CS, NOT_FOUND_FIX, Request, Response, _get, _Reject, aks_error, arm_error


class Clusters(Base):
    # ------------------------------------------------------------------------------------ clusters: reads
    def _ckey(self, rg: str, name: str) -> str:
        return f"{rg.lower()}/{name.lower()}"

    def _cluster_not_found(self, rg: str, name: str) -> _Reject:
        return _Reject(arm_error(404, "ResourceNotFound",
                                 f"The Resource '{CS}/managedClusters/{name}' under resource group '{rg}' was not "
                                 f"found. {NOT_FOUND_FIX}"))

    def served_cluster(self, rec: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(rec["body"])
        body["properties"]["agentPoolProfiles"] = [
            {"name": p["name"], **copy.deepcopy(p["properties"])} for p in rec["pools"].values()]
        return body

    def served_pools(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in rec["pools"].values()]

    def list_group_clusters(self, req: Request, rg: str) -> Response:
        self._require_rg(rg)
        return Response(200, {"value": [self.served_cluster(c) for c in self.world.clusters.values()
                                        if c["rg"] == rg.lower()]})

    def list_all_clusters(self, req: Request) -> Response:
        return Response(200, {"value": [self.served_cluster(c) for c in self.world.clusters.values()]})

    def cluster(self, req: Request, rg: str, name: str) -> Response:
        if req.method == "PUT":
            return self.put_cluster(req, rg, name)
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        if req.method == "GET":
            return Response(200, self.served_cluster(rec))
        return self.delete_cluster(req, rec)

    def credentials(self, req: Request, rg: str, name: str, action: str) -> Response:
        self._require_rg(rg)
        rec = self.world.clusters.get(self._ckey(rg, name))
        if rec is None:
            raise self._cluster_not_found(rg, name)
        admin = action.lower() == "listclusteradmincredential"
        props = rec["body"]["properties"]
        if admin and props.get("disableLocalAccounts"):
            raise _Reject(aks_error(400, "BadRequest", "Getting static credential is not allowed because this cluster "
                                    "is set to disable local accounts."))
        entra = bool(_get(props, "aadProfile", "managed")) and not admin
        cname = rec["body"]["name"]
        user = f"cluster{'Admin' if admin else 'User'}_{rec['body']['id'].split('/')[4]}_{cname}"
        server = f"{self.base_url}/k8s/{rec['kube_id']}"
        cluster_entry = f"    server: {server}\n"
        if server.startswith("https://"):
            if self.ca_pem:  # as AKS does: the cluster's CA in the kubeconfig
                cluster_entry += f"    certificate-authority-data: {base64.b64encode(self.ca_pem).decode()}\n"
            else:
                cluster_entry += "    insecure-skip-tls-verify: true\n"
        kubeconfig = (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- cluster:\n" + cluster_entry +
            f"  name: {cname}\n"
            "contexts:\n"
            "- context:\n"
            f"    cluster: {cname}\n"
            f"    user: {user}\n"
            f"  name: {cname}\n"
            f"current-context: {cname}\n"
            "preferences: {}\n"
            "users:\n"
            f"- name: {user}\n"
            "  user:\n"
            + (_kubelogin_user(self.world.tenant_id) if entra else f"    token: {_kube_token()}\n")
        )
        value = base64.b64encode(kubeconfig.encode()).decode()
        return Response(200, {"kubeconfigs": [{"name": "clusterAdmin" if admin else "clusterUser", "value": value}]})

    # ------------------------------------------------------------------------------------ clusters: PUT
    def put_cluster(self, req: Request, rg: str, name: str) -> Response:
        self._throttle("PutManagedClusterHandler")
        rg_rec = self._require_rg(rg)
        body = _object_body(req)
        ckey = self._ckey(rg, name)
        rg_name = rg_rec["body"]["name"]
        self._foreign_operation(ckey, rg_name, name, body.get("location"))
        busy = self._busy(ckey)
        if busy:
            raise self._conflict(busy, rg_name, name)
        put = validate.check_cluster_put(self, ClusterPut(name, rg_name, ckey, body, self.world.clusters.get(ckey)))
        now = self.now()
        rec = self._accept_cluster(put, rg)
        typical = latency.cluster_put_typical(body if put.props.get("agentPoolProfiles") is not None
                                              else self.served_cluster(rec), put.existed, put.previous, self.typical)
        failed_pools, outcome = self._put_outcome(rec, put)
        op = self._new_op("cluster_put", put.loc, typical, cluster=ckey, touched=list(put.targets), outcome=outcome,
                          failed_pools=failed_pools, created=not put.existed, start=now)
        return Response(200 if put.existed else 201, self.served_cluster(rec),
                        {"Azure-AsyncOperation": self._op_url(put.loc, op["id"], req)}, changed=True,
                        drop=self._drop_once(ckey))

    def _accept_cluster(self, put: ClusterPut, rg: str) -> dict[str, Any]:
        """Store the accepted PUT: the cluster Creating or Updating, its target pools, its node resource group."""
        rec, name, loc = put.rec, put.name, put.loc
        cluster_id = (rec["body"]["id"] if rec else f"/subscriptions/{self.world.subscription_id}/resourceGroups/"
                      f"{put.rg_name}/providers/{CS}/managedClusters/{name}")
        if rec is None:
            rec = {"rg": rg.lower(), "name": name, "kube_id": secrets.token_hex(4), "synced": False,
                   "body": {}, "pools": {}}
            self.world.clusters[put.ckey] = rec
        new_body = build.complete_cluster(self, put.body, rec, cluster_id, name, put.rg_name, loc, put.patch,
                                          put.requested_version, put.revisions, put.existed)
        new_body["properties"]["provisioningState"] = "Updating" if put.existed else "Creating"
        rec["body"] = new_body
        for pkey, pprops in put.targets.items():
            old = rec["pools"].get(pkey)
            rec["pools"][pkey] = build.complete_pool(self, cluster_id, put.names[pkey], pprops, old, put.patches[pkey],
                                                     put.requested_version or put.patch, loc,
                                                     "Updating" if old else "Creating",
                                                     build.default_max_pods(new_body["properties"]))
        nrg = new_body["properties"]["nodeResourceGroup"]
        if nrg.lower() not in self.world.resource_groups:
            self._put_group(nrg, loc, {"aks-managed-cluster-name": name, "aks-managed-cluster-rg": put.rg_name},
                            managed_by=cluster_id)
        return rec

    def _put_outcome(self, rec: dict[str, Any], put: ClusterPut) -> tuple[list[str], dict[str, Any]]:
        """(failed pools, outcome) of the operation: Succeeded, unless the sku-unavailable fault meets GPU pools
        or the lro-failed fault is on."""
        if "sku-unavailable" in self.faults and put.gpu_pools:
            return put.gpu_pools, {"status": "Failed", "error": self._sku_error(rec, put.gpu_pools[0], put.loc)}
        if "lro-failed" in self.faults:
            first = put.names[next(iter(put.targets))] if put.targets else "nodepool1"
            suffix = _vmss_suffix(rec["body"]["id"], first)
            return list(put.targets), {"status": "Failed", "error": {
                "code": FAULTS["lro-failed"].code,
                "message": FAULTS["lro-failed"].message.format(pool=first, vmss_suffix=suffix)}}
        return [], {"status": "Succeeded"}

    def _sku_error(self, rec: dict[str, Any], pkey: str, loc: str) -> dict[str, Any]:
        pool = rec["pools"][pkey]
        props = pool["properties"]
        zones = ",".join(props.get("availabilityZones") or [])
        nrg = rec["body"]["properties"]["nodeResourceGroup"]
        vmss = (f"/subscriptions/{self.world.subscription_id}/resourceGroups/{nrg}/providers/Microsoft.Compute/"
                f"virtualMachineScaleSets/aks-{pool['name']}-{_vmss_suffix(rec['body']['id'], pool['name'])}-vmss")
        return {"code": FAULTS["sku-unavailable"].code, "message": FAULTS["sku-unavailable"].message.format(
            vmss_id=vmss, location=loc, zones=zones, subscription=self.world.subscription_id)}


    def delete_cluster(self, req: Request, rec: dict[str, Any]) -> Response:
        ckey = self._ckey(rec["rg"], rec["body"]["name"])
        busy = self._busy(ckey)
        if busy and busy["kind"] != "cluster_delete":
            raise self._conflict(busy, rec["rg"], rec["body"]["name"])
        loc = rec["body"]["location"]
        if busy:
            op = busy
        else:
            rec["body"]["properties"]["provisioningState"] = "Deleting"
            op = self._new_op("cluster_delete", loc, self.typical.cluster_delete, cluster=ckey)
        return Response(202, None, {"Azure-AsyncOperation": self._op_url(loc, op["id"], req),
                                    "Location": self._op_url(loc, op["id"], req, results=True)}, changed=True)


def _kubelogin_user(tenant: str) -> str:
    """The user entry AKS returns for a cluster with Entra ID: kubelogin as an exec credential plugin."""
    from wizard.azure.entra import AKS_SERVER_APP_ID

    args = ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_SERVER_APP_ID, "--client-id",
            "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", tenant, "--login", "devicecode"]
    return ("    exec:\n"
            "      apiVersion: client.authentication.k8s.io/v1beta1\n"
            "      args:\n" + "".join(f"      - {a}\n" for a in args) +
            "      command: kubelogin\n"
            "      env: null\n"
            "      installHint: |\n"
            "        kubelogin is not installed which is required to connect to AAD enabled cluster.\n"
            "      interactiveMode: IfAvailable\n"
            "      provideClusterInfo: false\n")


def _kube_token() -> str:
    try:
        from wizard.sim.kube import KUBE_TOKEN as token
    except ImportError:
        return KUBE_TOKEN
    return token



def _object_body(req: Request) -> dict[str, Any]:
    """The request's JSON object; ARM's InvalidRequestContent when it is not one."""
    try:
        body = req.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _Reject(arm_error(400, "InvalidRequestContent",
                                "The request content was invalid and could not be deserialized."))
    return body

"""KAITO's workspace controller, simulated (enough to show it reconciles): while kaito-workspace has a ready pod, a
Workspace gets the status conditions KAITO writes on its first reconcile: ResourceReady (True when enough Ready
nodes match resource.labelSelector and instanceType, else False while node claims are pending), InferenceReady and
WorkspaceSucceeded False until the model serves (the simulator runs no model). Degradation operator-stuck: the
controller never reconciles (as when it is wedged or has lost its leader lease)."""
from __future__ import annotations

import copy

from . import names as N
from .patch import selector_matches
from .store import Cluster


def _running(c: Cluster) -> bool:
    from .controllers import deployment_running
    return deployment_running(c, N.KAITO_NAMESPACE, N.KAITO_DEPLOYMENT)


def controller(c: Cluster) -> None:
    from .controllers import cond, node_ready
    if "operator-stuck" in c.degraded or c.resource("kaito.sh", "v1beta1", "workspaces") is None or not _running(c):
        return
    for ws in c.list("kaito.sh", "workspaces"):
        if (ws.get("status") or {}).get("conditions"):
            continue
        res = ws.get("resource") or {}
        sel = res.get("labelSelector") or {}
        want = int(res.get("count") or 1)
        nodes = [n for n in c.list("", "nodes") if node_ready(n) and selector_matches(sel, n["metadata"].get(
            "labels") or {}) and (n["metadata"].get("labels") or {}).get(N.LABEL_INSTANCE_TYPE) == res.get(
            "instanceType")]
        ready = len(nodes) >= want
        new = copy.deepcopy(ws)
        new["status"] = {"workerNodes": [n["metadata"]["name"] for n in nodes[:want]], "conditions": [
            cond("ResourceReady", "True" if ready else "False",
                 "workspaceResourceStatusSuccess" if ready else "workspaceResourceStatusPending",
                 "workspace resource is ready" if ready else f"waiting for {want - len(nodes)} node claim(s)"),
            cond("InferenceReady", "False", "WorkspaceInferenceStatusPending", "inference is not ready yet"),
            cond("WorkspaceSucceeded", "False", "workspacePending", "workspace is not ready yet")]}
        c.write(new)

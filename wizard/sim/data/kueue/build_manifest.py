"""Rebuild v*/manifests.yaml: the simulator's copy of Kueue's release manifest (not imported at run time).

The real file is `kustomize build config/default` of the release tag with the release image set. This script
does the same transformations in Python from a clone of kubernetes-sigs/kueue, so no kustomize is needed:

    python wizard/sim/data/kueue/build_manifest.py /path/to/kueue/git v0.14.4

Trimmed on purpose: each CRD keeps its names, scope, versions, printer columns and subresources, and its
openAPIV3Schema down to the fields of spec/status; below that the schema keeps unknown fields (the Workload
CRD alone is ~700 KB upstream because it embeds PodTemplateSpec). Everything else is as released.
"""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import yaml

PREFIX = "kueue-"
NAMESPACE = "kueue-system"
LABELS = {"app.kubernetes.io/name": "kueue"}
SELECTOR_LABELS = {"control-plane": "controller-manager"}
CLUSTER_KINDS = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "APIService",
                 "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
NO_PREFIX = {"CustomResourceDefinition", "APIService"}


def show(repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def trim(schema: dict, depth: int) -> dict:
    if depth <= 0 and schema.get("type") == "object" and ("properties" in schema or "additionalProperties" in schema):
        out = {k: schema[k] for k in ("description", "type") if k in schema}
        out["x-kubernetes-preserve-unknown-fields"] = True
        return out
    out = {}
    for k, v in schema.items():
        if k == "description" and isinstance(v, str) and len(v) > 200:
            v = v[:197].rstrip() + "..."
        if k == "properties":
            v = {name: trim(sub, depth - 1) for name, sub in v.items()}
        elif k == "items" and isinstance(v, dict):
            v = trim(v, depth)
        out[k] = v
    return out


def merge_container(base: dict, patch: dict) -> None:
    for key in ("args", "volumeMounts", "ports"):
        if key in patch:
            if key == "args":
                base["args"] = patch["args"]
            else:
                base.setdefault(key, []).extend(patch[key])


def main(repo: str, tag: str) -> None:
    crd_kust = yaml.safe_load(show(repo, tag, "config/components/crd/kustomization.yaml"))
    rbac_kust = yaml.safe_load(show(repo, tag, "config/components/rbac/kustomization.yaml"))
    objs: list[dict] = []
    manager = docs(show(repo, tag, "config/components/manager/manager.yaml"))
    ns = next(d for d in manager if d["kind"] == "Namespace")
    objs.append(ns)
    for path in crd_kust["resources"]:
        crd = docs(show(repo, tag, f"config/components/crd/{path}"))[0]
        for v in crd["spec"]["versions"]:
            v["schema"]["openAPIV3Schema"] = trim(v["schema"]["openAPIV3Schema"], 3)
        objs.append(crd)
    for path in rbac_kust["resources"]:
        objs.extend(docs(show(repo, tag, f"config/components/rbac/{path}")))
    conf = show(repo, tag, "config/components/manager/controller_manager_config.yaml")
    objs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "manager-config", "namespace": "system"},
                 "data": {"controller_manager_config.yaml": conf}})
    objs.extend(docs(show(repo, tag, "config/components/internalcert/secret.yaml")))
    objs.extend(docs(show(repo, tag, "config/components/visibility/service.yaml")))
    objs.extend(docs(show(repo, tag, "config/components/webhook/service.yaml")))
    objs.extend(docs(show(repo, tag, "config/default/metrics_service.yaml")))
    dep = next(d for d in manager if d["kind"] == "Deployment")
    ctr = dep["spec"]["template"]["spec"]["containers"][0]
    ctr["image"] = f"registry.k8s.io/kueue/kueue:{tag}"
    for patch in ("manager_config_patch", "manager_webhook_patch", "manager_visibility_patch", "manager_metrics_patch"):
        p = yaml.safe_load(show(repo, tag, f"config/default/{patch}.yaml"))["spec"]["template"]["spec"]
        merge_container(ctr, p["containers"][0])
        dep["spec"]["template"]["spec"].setdefault("volumes", []).extend(p.get("volumes", []))
    dep["metadata"].setdefault("labels", {})["app.kubernetes.io/component"] = "controller"
    objs.append(dep)
    objs.extend(docs(show(repo, tag, "config/components/visibility/apiservice_v1beta1.yaml")))
    vis_rb = docs(show(repo, tag, "config/components/visibility/role_binding.yaml"))[0]
    objs.append(vis_rb)
    webhooks = docs(show(repo, tag, "config/components/webhook/manifests.yaml"))
    wk = yaml.safe_load(show(repo, tag, "config/components/webhook/kustomization.yaml"))
    for p in wk.get("patches", []):
        patch = yaml.safe_load(p["patch"])
        cfg = next(w for w in webhooks if w["metadata"]["name"] == patch["metadata"]["name"])
        for wh in patch["webhooks"]:
            target = next(x for x in cfg["webhooks"] if x["name"] == wh["name"])
            target.update({k: v for k, v in wh.items() if k != "name"})
    objs.extend(webhooks)

    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    out = []
    for o in objs:
        o = copy.deepcopy(o)
        kind, meta = o["kind"], o["metadata"]
        if kind not in NO_PREFIX:
            meta["name"] = PREFIX + meta["name"]
        if kind not in CLUSTER_KINDS:
            meta["namespace"] = "kube-system" if meta["name"] == PREFIX + "visibility-server-auth-reader" else NAMESPACE
        meta.setdefault("labels", {}).update(LABELS)
        meta["labels"].update(SELECTOR_LABELS)
        if kind in ("ClusterRoleBinding", "RoleBinding"):
            ref = o["roleRef"]
            if (ref["kind"], ref["name"]) in names:
                ref["name"] = PREFIX + ref["name"]
            for s in o.get("subjects", []):
                if s.get("kind") == "ServiceAccount":
                    s["name"], s["namespace"] = PREFIX + s["name"], NAMESPACE
        if kind == "Service":
            o["spec"]["selector"] = dict(SELECTOR_LABELS)
            comp = {"webhook-service": "webhook-service", "visibility-server": "visibility-service",
                    "controller-manager-metrics-service": "metrics-service"}.get(meta["name"][len(PREFIX):])
            if comp:
                meta["labels"]["app.kubernetes.io/component"] = comp
        if kind == "Deployment":
            spec = o["spec"]
            spec["selector"] = {"matchLabels": dict(SELECTOR_LABELS)}
            tmeta = spec["template"].setdefault("metadata", {})
            tmeta.setdefault("labels", {}).update({**LABELS, **SELECTOR_LABELS})
            pod = spec["template"]["spec"]
            pod["serviceAccountName"] = PREFIX + pod["serviceAccountName"]
            for v in pod.get("volumes", []):
                if "configMap" in v:
                    v["configMap"]["name"] = PREFIX + v["configMap"]["name"]
        if kind == "APIService":
            o["spec"]["service"]["name"] = PREFIX + o["spec"]["service"]["name"]
        if kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for wh in o["webhooks"]:
                svc = wh["clientConfig"]["service"]
                svc["name"], svc["namespace"] = PREFIX + svc["name"], NAMESPACE
        out.append(o)
    header = (f"# Kueue {tag} release manifest for the simulator: `kustomize build config/default` of {tag}, with\n"
              "# CRD schemas trimmed below spec/status fields (see build_manifest.py).\n")
    text = header + "---\n" + "---\n".join(yaml.safe_dump(o, sort_keys=False, width=120) for o in out)
    dest = Path(__file__).resolve().parent / tag / "manifests.yaml"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")
    print(f"wrote {dest} ({len(text)} bytes, {len(out)} objects)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

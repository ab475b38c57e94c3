"""Reports: Markdown, JSON, and the CNCF PRODUCT.yaml of the chosen checklist version, plus validate_product(),
the cncf/k8s-ai-conformance validator's rules (scripts/validate.go) applied offline."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .checklist import load_checklist, normalize_version
from .evidence import SIMULATED

if TYPE_CHECKING:
    from .model import Report, RequirementResult

VALID_STATUSES = ("Implemented", "Not Implemented", "Partially Implemented", "N/A")
ICON = {"pass": "PASS", "partial": "PARTIAL", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "N/A"}

# Public AKS documentation per requirement (from AKS's own PRODUCT.yaml submissions, v1.34-v1.36)
DOCS = {
    "dra_support": ["https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"],
    "driver_runtime_management": ["https://learn.microsoft.com/azure/aks/best-practices-gpu"],
    "gpu_sharing": ["https://blog.aks.azure.com/2026/03/03/multi-instance-gpu-with-dra-on-aks"],
    "virtualized_accelerator": ["https://blog.aks.azure.com/2026/03/06/dra-with-vGPUs-on-aks"],
    "ai_inference": ["https://learn.microsoft.com/azure/aks/istio-gateway-api",
                     "https://learn.microsoft.com/azure/aks/managed-gateway-api"],
    "advanced_inference_ingress": ["https://kaito-project.github.io/kaito/docs/gateway-api-inference-extension"],
    "high_performance_networking": ["https://azure.github.io/aks-rdma-infiniband/"],
    "disaggregated_inference": ["https://blog.aks.azure.com/2025/10/24/dynamo-on-aks"],
    "gang_scheduling": ["https://learn.microsoft.com/azure/aks/kueue-overview"],
    "cluster_autoscaling": ["https://learn.microsoft.com/azure/aks/cluster-autoscaler"],
    "pod_autoscaling": ["https://learn.microsoft.com/azure/aks/autoscale-gpu-workloads-with-keda"],
    "accelerator_metrics": ["https://learn.microsoft.com/azure/aks/monitor-gpu-metrics"],
    "ai_service_metrics": ["https://learn.microsoft.com/azure/azure-monitor/containers/kubernetes-monitoring-enable"],
    "secure_accelerator_access": ["https://github.com/Azure/AKS/tree/master/ai-conformance/v1.34/"
                                  "secure_accelerator_access"],
    "robust_controller": ["https://learn.microsoft.com/azure/aks/ai-toolchain-operator"],
}

# Product metadata of AKS (public, from AKS's submissions); contactEmailAddress is the submitter's to fill in.
AKS_METADATA = {
    "platformName": "Azure Kubernetes Service (AKS)",
    "vendorName": "Microsoft",
    "websiteUrl": "https://azure.microsoft.com/products/kubernetes-service/",
    "repoUrl": "https://github.com/Azure/AKS",
    "documentationUrl": "https://learn.microsoft.com/azure/aks/",
    "productLogoUrl": "https://raw.githubusercontent.com/cncf/landscape/master/hosted_logos/azure-kubernetes-service.svg",
    "description": "Azure Kubernetes Service (AKS) is a managed Kubernetes service that you can use to deploy and "
                   "manage containerized applications at scale.",
}


# ---------------------------------------------------------------------------------------------- markdown
def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: "Report") -> str:
    md = report.metadata
    lines = [f"# Kubernetes AI Conformance v{report.checklist_version}: verification report", ""]
    if md.get("simulated"):
        lines += [f"> **{SIMULATED}.** Every result below comes from the embedded simulated Azure and Kubernetes "
                  "API; it shows what the verifier does, it proves nothing about a real cluster.", ""]
    facts = [("Platform", md.get("platform")), ("Cluster", md.get("cluster_name")),
             ("Resource group", md.get("resource_group")), ("Location", md.get("location")),
             ("Kubernetes", md.get("kubernetes_version")), ("API server", md.get("api_server")),
             ("Nodes / GPUs", f"{md.get('nodes')} / {md.get('gpus')}" if "nodes" in md else None),
             ("Probes", "yes" if report.probes else "no (read-only)"),
             ("Started", report.started.isoformat() if report.started else None),
             ("Finished", report.finished.isoformat() if report.finished else None),
             ("Verifier", md.get("verifier"))]
    for k, v in facts:
        if v:
            lines.append(f"- **{k}:** {v}")
    c = report.counts()
    verdict = "every MUST requirement passed" if report.must_ok else "not every MUST requirement passed"
    lines += ["", f"**Result:** {verdict} ({c['pass']} pass, {c['partial']} partial, {c['fail']} fail, "
                  f"{c['inconclusive']} inconclusive, {c['skipped']} n/a).", "",
              "| Requirement | Level | Result | Checklist status | Summary |", "|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| [{r.id}](#{r.id.replace('_', '-')}) | {r.level} | {ICON[r.status]} | {r.checklist_status} | "
                     f"{_md_escape(r.summary)} |")
    for r in report.results:
        lines += ["", f"## {r.id}", "", f"*{r.level}, {r.category}* - {r.description}", "",
                  f"**{ICON[r.status]}** ({r.checklist_status}{', proven by ' + r.proof if r.proof else ''}): "
                  f"{r.summary}", ""]
        if r.evidence:
            lines.append("Evidence:")
            lines += [f"- {e}" for e in r.evidence]
            lines.append("")
        if r.notes:
            lines += [f"Notes: {r.notes}", ""]
        if r.fix:
            lines.append("Fix:")
            lines += [f"- `{f}`" if not f.startswith("answers:") else f"- {f}" for f in r.fix.split("\n")]
            lines.append("")
    for n in md.get("notes") or []:
        lines.append(f"> {n}")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- PRODUCT.yaml
def _product_notes(r: "RequirementResult", simulated: bool = False) -> str:
    parts = ([f"[{SIMULATED}]"] if simulated else []) + [f"aks-ai-wizard verify ({r.proof or 'read-only'}): "
                                                         f"{r.summary}."]
    if r.evidence:
        parts.append("Evidence: " + "; ".join(r.evidence) + ".")
    if r.notes:
        parts.append(r.notes)
    if r.fix and r.status != "pass":
        parts.append("Fix: " + " / ".join(r.fix.split("\n")))
    return " ".join(parts)


def product_dict(report: "Report", overrides: dict[str, Any] | None = None, local_evidence: list[str] | None = None,
                 junit: bool = False) -> dict[str, Any]:
    """The checklist filled in. Metadata: AKS's public product facts, platformVersion the AKS version line
    (v1.34, as AKS's own submissions give it, not the Kubernetes patch), k8sConformanceUrl the CNCF Kubernetes
    conformance entry of that version; overrides (contactEmailAddress, vendorName, platformName, platformVersion,
    ...) from options or the answers file. junit: link each requirement's testcase in results/junit.xml."""
    from .evidence import anchor

    cl = load_checklist(report.checklist_version)
    doc: dict[str, Any] = yaml.safe_load(cl.text)
    md = dict(doc.get("metadata") or {})
    md.update(AKS_METADATA)
    kv = str(report.metadata.get("kubernetes_version") or "").lstrip("v")
    md["kubernetesVersion"] = f"v{cl.version}"
    md["platformVersion"] = "v" + ".".join(kv.split(".")[:2]) if kv else f"v{cl.version}"
    md["k8sConformanceUrl"] = f"https://github.com/cncf/k8s-conformance/tree/master/v{cl.version}/aks"
    md["contactEmailAddress"] = ""
    md.update({k: v for k, v in (overrides or {}).items() if v is not None})
    simulated = bool(report.metadata.get("simulated"))
    if simulated:
        md["description"] = f"[{SIMULATED}] " + str(md.get("description") or "")
    doc["metadata"] = md
    by_id = {r.id: r for r in report.results}
    for _category, items in (doc.get("spec") or {}).items():
        for item in items or []:
            r = by_id.get(item["id"])
            if r is None:
                continue
            item["status"] = r.checklist_status
            item["evidence"] = list(DOCS.get(r.id, [])) + ([anchor(r)] if junit else []) + list(local_evidence or [])
            item["notes"] = _product_notes(r, simulated)
    return doc


def to_product_yaml(report: "Report", overrides: dict[str, Any] | None = None, local_evidence: list[str] | None = None,
                    junit: bool = False) -> str:
    overrides = {**(report.metadata.get("product_overrides") or {}), **(overrides or {})}
    doc = product_dict(report, overrides, local_evidence, junit)
    header = (f"# {SIMULATED.upper()}: DO NOT SUBMIT\n" if report.metadata.get("simulated") else "") + (
              "# Kubernetes AI Conformance Checklist\n"
              f"# Filled by aks-ai-wizard verify on {report.finished.isoformat() if report.finished else ''} "
              f"against {report.metadata.get('cluster_name') or report.metadata.get('api_server') or 'a cluster'}.\n"
              "# Statuses: Implemented only where a check proved it; Partially Implemented where only presence "
              "was read.\n\n")
    return header + yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True)


# ---------------------------------------------------------------------------------------------- validator
_K8S_URL = re.compile(r"^https://github\.com/cncf/k8s-conformance/tree/(master|main)/v\d+\.\d+/[^/]+/?$")
_METADATA_FIELDS = {"kubernetesVersion": True, "platformName": True, "platformVersion": True, "vendorName": True,
                    "websiteUrl": True, "repoUrl": False, "documentationUrl": True, "productLogoUrl": True,
                    "description": True, "contactEmailAddress": True, "k8sConformanceUrl": True}


def _snake(s: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", s)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _local(link: str) -> str:
    """The file of a local evidence link: file://results/junit.xml#TestX -> results/junit.xml."""
    return link.removeprefix("file://").split("#", 1)[0]


def _metadata_errors(md: Any) -> list[str]:
    """The metadata rules of validate.go: required fields, no placeholders, URL shapes."""
    errors: list[str] = []
    if not isinstance(md, dict):
        errors.append("Missing 'metadata' section")
    else:
        for fld, required in _METADATA_FIELDS.items():
            val = md.get(fld, md.get(_snake(fld)))
            if val is None:
                if required:
                    errors.append(f"Missing metadata field: {fld} (or {_snake(fld)})")
                continue
            if not isinstance(val, str):
                errors.append(f"Metadata field {fld} is not a string")
                continue
            if val == "":
                if required:
                    errors.append(f"Metadata field {fld} is empty")
            elif val.startswith("[") and val.endswith("]"):
                errors.append(f"Metadata field {fld} has placeholder value: {val}")
            elif fld == "k8sConformanceUrl":
                if not _K8S_URL.match(val):
                    errors.append(f"Invalid k8sConformanceUrl format: {val}")
            elif val.startswith("http") and fld == "productLogoUrl" and \
                    not val.lower().endswith((".svg", ".eps", ".ai")):
                errors.append(f"productLogoUrl must link to an SVG, EPS, or AI file: {val}")
    return errors


def _requirement_errors(s: dict[str, Any], p: dict[str, Any], strict: bool, base_dir: Path | None) -> list[str]:
    """One requirement of the submission against its checklist entry: status, MUST notes, evidence."""
    errors: list[str] = []
    status, evidence, notes = p.get("status") or "", p.get("evidence") or [], p.get("notes") or ""
    if s.get("level") == "SHOULD" and status == "" and not evidence:
        return errors
    if status not in VALID_STATUSES:
        errors.append(f"Invalid status '{status}' for '{s['id']}'. Must be one of {list(VALID_STATUSES)}")
    if s.get("level") == "MUST" and status != "Implemented":
        if strict:
            errors.append(f"Requirement '{s['id']}' is MUST level but status is '{status}'. It must be "
                          "'Implemented'.")
        elif not notes.strip():
            errors.append(f"Requirement '{s['id']}' is MUST level, status '{status}', and has no notes "
                          "explaining it")
    if status == "N/A" and not notes.strip():
        errors.append(f"Notes required for '{s['id']}' when status is N/A")
    for link in evidence:
        if not link:
            continue
        if not isinstance(link, str):
            errors.append(f"Evidence of '{s['id']}' is not a string: {link!r}")
        elif not link.startswith(("http://", "https://")) and base_dir is not None and \
                not (base_dir / _local(link)).exists():
            errors.append(f"Invalid evidence file for '{s['id']}': {link} (not found at "
                          f"{base_dir / _local(link)})")
    return errors


def validate_product(product: str | dict[str, Any], version: str, *, base_dir: Path | None = None,
                     strict: bool = False) -> list[str]:
    """The offline rules of cncf/k8s-ai-conformance scripts/validate.go: required metadata (no placeholders,
    k8sConformanceUrl shape, logo is SVG/EPS/AI), every category and requirement id of the checklist present, a
    valid status, N/A with notes, local evidence files present (when base_dir is given). The network checks (URL
    reachability, CNCF membership) are not done. MUST items: strict=True requires Implemented (as the CNCF
    validator does); otherwise a MUST item short of Implemented must be explained in its notes."""
    errors: list[str] = []
    doc = yaml.safe_load(product) if isinstance(product, str) else product
    if not isinstance(doc, dict):
        return ["not a YAML mapping"]
    schema = yaml.safe_load(load_checklist(normalize_version(version)).text)
    errors += _metadata_errors(doc.get("metadata"))
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        errors.append("Missing 'spec' section")
        return errors
    for category, sreqs in (schema.get("spec") or {}).items():
        preqs = spec.get(category)
        if preqs is None:
            errors.append(f"Missing spec category: {category}")
            continue
        pmap = {r.get("id"): r for r in preqs or [] if isinstance(r, dict)}
        for s in sreqs:
            p = pmap.get(s["id"])
            if p is None:
                errors.append(f"Missing requirement '{s['id']}' in category '{category}'")
                continue
            errors += _requirement_errors(s, p, strict, base_dir)
    return errors


# ---------------------------------------------------------------------------------------------- files
def write_report(report: "Report", directory: Path) -> list[Path]:
    """report.md, report.json, results/junit.xml, results/results.json and PRODUCT.yaml (linking the junit
    testcases and the other files) in directory."""
    from .evidence import to_go_test_json, to_junit

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results").mkdir(exist_ok=True)
    md = directory / "report.md"
    js = directory / "report.json"
    junit = directory / "results" / "junit.xml"
    events = directory / "results" / "results.json"
    product = directory / "PRODUCT.yaml"
    md.write_text(report.to_markdown(), encoding="utf-8")
    doc = report.to_dict()
    if report.metadata.get("simulated"):
        doc = {"simulated": True, "warning": SIMULATED, **doc}
    js.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    junit.write_text(to_junit(report), encoding="utf-8")
    events.write_text(to_go_test_json(report), encoding="utf-8")
    product.write_text(to_product_yaml(report, local_evidence=["file://results/results.json", "file://report.md"],
                                       junit=True), encoding="utf-8")
    return [md, js, junit, events, product]

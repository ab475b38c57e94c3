"""Kueue from its release manifest, the way `kubectl apply --server-side -f manifests.yaml` installs it, plus an
optional default ResourceFlavor / ClusterQueue / LocalQueue.

The pinned release (PINNED_VERSION) is installed from the manifest shipped with the package (SHIPPED, checked
against SHIPPED_SHA256): nothing is downloaded and nothing leaves the chosen cloud. A download happens only when the
user names another version (from `<release base>/<version>/manifests.yaml`) or a URL (answers kueue.manifest,
which the CLI's --kueue-manifest overrides; a local file is read). Downloads are https only and refuse a redirect
to anything else. With kueue.sha256 the bytes are checked before anything is sent to the cluster: a mismatch
refuses the install with nothing applied.

Objects are applied in dependency order (namespace; CRDs, then wait until Established; service accounts,
config, RBAC; services; the controller Deployment; APIService; webhook configurations last, so no webhook can
intercept the install itself), then the install waits for the controller to be Available, the webhook Service
to have ready endpoints and the CA bundle to be injected into both webhook configurations (Kueue's internal
cert rotation). Every wait is bounded. A cluster that already runs the wanted version, healthy, is left alone.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import stat
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

import yaml

from wizard.addons.errors import AddonError
from wizard.addons.kube import Kube, condition

if TYPE_CHECKING:
    from wizard.answers import Answers, KueueAnswers


class HasKueue(Protocol):
    """What the manifest functions read: the answers' kueue section (the Answers, or the kueue step's payload)."""

    @property
    def kueue(self) -> "KueueAnswers": ...

RELEASE_BASE = "https://github.com/kubernetes-sigs/kueue/releases/download"
PINNED_VERSION = "v0.17.8"
# `kustomize build config/default` of kubernetes-sigs/kueue at v0.17.8 with the release image
# (registry.k8s.io/kueue/kueue:v0.17.8), as the release's `make artifacts` builds manifests.yaml; gzip'd. The
# digest is of the uncompressed manifest, computed from this build (kubectl kustomize v5.5.0).
SHIPPED = Path(__file__).resolve().parent / "manifests" / f"kueue-{PINNED_VERSION}.yaml.gz"
SHIPPED_SHA256 = "060f579f1fda0812c3691b2c605eeb0d67ef27416e51d484793c60df2bdd366f"
NAMESPACE = "kueue-system"
DEPLOYMENT = "kueue-controller-manager"
WEBHOOK_SERVICE = "kueue-webhook-service"
WEBHOOK_CONFIGS = (("mutatingwebhookconfigurations", "kueue-mutating-webhook-configuration"),
                   ("validatingwebhookconfigurations", "kueue-validating-webhook-configuration"))
GROUP = "kueue.x-k8s.io"
KEY_CRDS = ("clusterqueues", "localqueues", "resourceflavors", "workloads")
MAX_MANIFEST = 32 * 1024 * 1024
ANNOTATION_VERSION = "aks-ai-wizard/kueue-version"
ANNOTATION_SHA = "aks-ai-wizard/kueue-manifest-sha256"

DEFAULT_FLAVOR = "default-flavor"
DEFAULT_CLUSTER_QUEUE = "cluster-queue"
DEFAULT_LOCAL_QUEUE = "user-queue"
DEFAULT_LOCAL_QUEUE_NS = "default"
GPU = "nvidia.com/gpu"

ORDER = {
    "Namespace": 0, "CustomResourceDefinition": 1, "ServiceAccount": 2, "ConfigMap": 3, "Secret": 3,
    "ClusterRole": 4, "Role": 4, "ClusterRoleBinding": 5, "RoleBinding": 5, "PriorityClass": 5,
    "Service": 6, "Deployment": 7, "DaemonSet": 7, "StatefulSet": 7, "APIService": 8,
    "MutatingWebhookConfiguration": 9, "ValidatingWebhookConfiguration": 9,
}
OTHER = 6  # custom resources and unknown kinds: after RBAC, before workloads


# ------------------------------------------------------------------------------------------ the manifest
@dataclass
class Manifest:
    origin: str  # file path or URL
    data: bytes
    sha256: str
    objects: list[dict[str, Any]]

    @property
    def version(self) -> str | None:
        """The controller image tag (registry.k8s.io/kueue/kueue:v0.17.8 -> v0.17.8)."""
        for o in self.objects:
            if o.get("kind") == "Deployment" and o["metadata"].get("name") == DEPLOYMENT:
                for ctr in ((o.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
                    tag = image_tag(ctr.get("image", ""))
                    if tag:
                        return tag
        return None


def image_tag(image: str) -> str | None:
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":")
    return tag if name and "/" not in tag else None


def release_url(base: str, version: str) -> str:
    return f"{base.rstrip('/')}/{version}/manifests.yaml"


@dataclass(frozen=True)
class Shipped:
    """The manifest of the pinned release that comes with the package (the simulator supplies its own copy)."""

    version: str
    path: Path
    sha256: str


SHIPPED_RELEASE = Shipped(PINNED_VERSION, SHIPPED, SHIPPED_SHA256)


def shipped_for(answers: HasKueue, shipped: Shipped | None) -> Shipped | None:
    """The shipped manifest when the answers ask for its version and name no manifest of their own."""
    k = answers.kueue
    return shipped if shipped is not None and not k.manifest and k.version == shipped.version else None


def manifest_location(answers: HasKueue, base: str, shipped: Shipped | None = SHIPPED_RELEASE) -> str:
    k = answers.kueue
    packaged = shipped_for(answers, shipped)
    if packaged is not None:
        return str(packaged.path)
    return k.manifest if k.manifest else release_url(base, k.version)


def is_url(where: str) -> bool:
    return "://" in where


def ssl_context() -> ssl.SSLContext:
    """Default trust, plus REQUESTS_CA_BUNDLE / SSL_CERT_FILE when set (corporate proxies, test CAs)."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    ctx = ssl.create_default_context()
    if bundle:
        if os.path.isdir(bundle):
            ctx.load_verify_locations(capath=bundle)
        else:
            ctx.load_verify_locations(cafile=bundle)
    return ctx


def download(url: str, timeout: float) -> bytes:
    """GET over https (http only for a loopback simulator), following redirects, bounded in time and size."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise AddonError(f"Refused to download the Kueue manifest from {url}.", "Only https URLs are allowed.",
                         "Use the https release URL or a local file.", code="InsecureURL",
                         fix_field="kueue.manifest")
    req = urllib.request.Request(url, headers={"User-Agent": "aks-ai-wizard", "Accept": "*/*"})

    class HttpsOnly(urllib.request.HTTPRedirectHandler):
        """Follow a redirect only to https (or to the same loopback simulator)."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            target = urlsplit(newurl)
            if target.scheme != "https" and not (target.scheme == "http" and loopback
                                                 and target.hostname == parts.hostname):
                raise AddonError(f"Refused the redirect from {url} to {newurl}.",
                                 "The Kueue manifest is only downloaded over https, redirects included.",
                                 "Use an https URL that serves the file without leaving https, or a local file.",
                                 code="InsecureRedirect", fix_field="kueue.manifest")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    handlers: list[Any] = [HttpsOnly()]
    if parts.scheme == "https":
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context()))
    opener = urllib.request.build_opener(*handlers)
    what = f"Could not download the Kueue manifest from {url}."
    action = ("Check the version exists (https://github.com/kubernetes-sigs/kueue/releases) and that this machine can "
              "reach it (proxy: HTTPS_PROXY; private CA: REQUESTS_CA_BUNDLE), or download it yourself and pass "
              "--kueue-manifest FILE (answers kueue.manifest) with kueue.sha256.")
    try:
        with opener.open(req, timeout=timeout) as resp:
            data: bytes = resp.read(MAX_MANIFEST + 1)
    except urllib.error.HTTPError as exc:
        raise AddonError(what, f"The server answered HTTP {exc.code} {exc.reason}.", action, code=f"HTTP{exc.code}",
                         status=exc.code, fix_field="kueue.version" if exc.code == 404 else None) from None
    except (TimeoutError, ssl.SSLError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        timed_out = isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError) or "timed out" in str(reason)
        why = f"No answer within {timeout:g} s." if timed_out else f"{type(reason).__name__}: {reason}."
        raise AddonError(what, why, action, code="DownloadTimeout" if timed_out else "DownloadFailed") from None
    if len(data) > MAX_MANIFEST:
        raise AddonError(what, f"The file is larger than {MAX_MANIFEST // (1024 * 1024)} MiB.", action,
                         code="ManifestTooLarge")
    return data


def parse(data: bytes, origin: str) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(data.decode("utf-8")))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AddonError(f"The Kueue manifest {origin} is not valid YAML.", str(exc).splitlines()[0],
                         "Use the release's manifests.yaml unchanged.", code="InvalidManifest",
                         fix_field="kueue.manifest") from None
    out: list[dict[str, Any]] = []
    for d in docs:
        if d is None:
            continue
        if isinstance(d, dict) and d.get("kind", "").endswith("List") and isinstance(d.get("items"), list):
            out.extend(i for i in d["items"] if i)
            continue
        if not (isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name")):
            raise AddonError(f"The Kueue manifest {origin} has a document that is not a Kubernetes object.",
                             f"Document {len(out) + 1} has no apiVersion, kind or metadata.name.",
                             "Use the release's manifests.yaml unchanged.", code="InvalidManifest",
                             fix_field="kueue.manifest")
        out.append(d)
    if not any(o["kind"] == "Deployment" and o["metadata"]["name"] == DEPLOYMENT for o in out):
        raise AddonError(f"{origin} is not a Kueue release manifest.",
                         f"It has no Deployment {DEPLOYMENT}.", "Point kueue.manifest at Kueue's manifests.yaml.",
                         code="InvalidManifest", fix_field="kueue.manifest")
    return out


def read_local(path: Path) -> bytes:
    """A local manifest: a regular file of at most MAX_MANIFEST bytes (never /dev/zero, a FIFO or a directory)."""
    action = "Fix the path in kueue.manifest (or --kueue-manifest)."
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise AddonError(f"The Kueue manifest {path} is not a regular file.", "It is a device, a pipe or "
                                 "a directory, whose end cannot be known.", action, code="ManifestUnreadable",
                                 fix_field="kueue.manifest")
            data = f.read(MAX_MANIFEST + 1)
    except OSError as exc:
        raise AddonError(f"Could not read the Kueue manifest {path}.", exc.strerror or str(exc), action,
                         code="ManifestUnreadable", fix_field="kueue.manifest") from None
    if len(data) > MAX_MANIFEST:
        raise AddonError(f"The Kueue manifest {path} is too large.", f"The file is larger than "
                         f"{MAX_MANIFEST // (1024 * 1024)} MiB; a Kueue release manifest is well under 1 MiB.",
                         action, code="ManifestTooLarge", fix_field="kueue.manifest")
    return data


def local_manifest_problem(answers: HasKueue) -> AddonError | None:
    """What is wrong with a local kueue.manifest (read, size-capped, checksummed and parsed), for the plan."""
    where = answers.kueue.manifest
    if not answers.kueue.install or not where or is_url(where):
        return None
    path = Path(where).expanduser()
    try:
        data = read_local(path)
        digest = hashlib.sha256(data).hexdigest()
        if answers.kueue.sha256 and digest != answers.kueue.sha256.lower():
            raise AddonError(f"The Kueue manifest {path} does not match kueue.sha256.", f"Its SHA-256 is {digest}.",
                             "Check where the file came from, or put its SHA-256 in kueue.sha256.",
                             code="ChecksumMismatch", fix_field="kueue.sha256")
        parse(data, str(path))
    except AddonError as exc:
        return exc
    return None


def load(answers: HasKueue, base: str, timeout: float, report: Callable[[str], None],
         shipped: Shipped | None = SHIPPED_RELEASE) -> Manifest:
    """Read (the shipped manifest, a local file) or download the manifest and check its SHA-256; nothing touches
    the cluster here."""
    packaged = shipped_for(answers, shipped)
    where = manifest_location(answers, base, shipped)
    if packaged is not None:
        try:
            data = packaged.path.read_bytes()
            data = gzip.decompress(data) if packaged.path.suffix == ".gz" else data
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise AddonError(f"The Kueue {packaged.version} manifest shipped with aks-ai-wizard cannot be read "
                             f"({packaged.path}).", str(exc), "Reinstall aks-ai-wizard, or pass --kueue-manifest FILE.",
                             code="ManifestUnreadable") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != packaged.sha256:
            raise AddonError(f"The Kueue {packaged.version} manifest shipped with aks-ai-wizard is damaged; nothing "
                             "was applied.", f"Its SHA-256 is {digest}, the package pins {packaged.sha256}.",
                             "Reinstall aks-ai-wizard, or pass --kueue-manifest FILE with kueue.sha256.",
                             code="ChecksumMismatch")
    elif is_url(where):
        report(f"downloading {where}")
        data = download(where, timeout)
    else:
        path = Path(where).expanduser()
        data = read_local(path)
        where = str(path)
    digest = hashlib.sha256(data).hexdigest()
    if packaged is not None:
        where = f"shipped with aks-ai-wizard ({packaged.path.name})"
    want = (answers.kueue.sha256 or "").lower()
    if want and digest != want:
        raise AddonError(f"The Kueue manifest {where} does not match kueue.sha256; nothing was applied.",
                         f"Its SHA-256 is {digest}, the answers expect {want}.",
                         "Check where the file came from; if the new file is the one you want, put its SHA-256 in "
                         "kueue.sha256.", code="ChecksumMismatch", fix_field="kueue.sha256")
    report(f"manifest {where}: {len(data)} bytes, sha256 {digest[:12]}…" + (" (matches kueue.sha256)" if want else ""))
    return Manifest(where, data, digest, parse(data, where))


def ordered(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(objects, key=lambda o: ORDER.get(o["kind"], OTHER))  # stable: keeps the file's order within a rank


def custom_kinds(objects: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, bool]]:
    """(group, kind) -> (plural, namespaced) of the CRDs in the manifest (so no discovery is needed for them)."""
    out = {}
    for o in objects:
        if o["kind"] == "CustomResourceDefinition":
            spec = o.get("spec") or {}
            out[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = (
                (spec.get("names") or {}).get("plural", ""), spec.get("scope", "Namespaced") == "Namespaced")
    return out


# ------------------------------------------------------------------------------------------ the cluster
@dataclass
class Installed:
    version: str | None
    healthy: bool
    detail: str
    sha256: str | None = None


def _deployment_available(dep: dict[str, Any] | None) -> tuple[bool, str]:
    if dep is None:
        return False, f"Deployment {NAMESPACE}/{DEPLOYMENT} not found"
    want = int((dep.get("spec") or {}).get("replicas", 1))
    have = int((dep.get("status") or {}).get("availableReplicas") or 0)
    ok = condition(dep, "Available") == "True" and have >= want
    return ok, f"{have}/{want} replicas available"


def _endpoints_ready(kube: Kube) -> tuple[bool, str]:
    doc = kube.get(f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices",
                   {"labelSelector": f"kubernetes.io/service-name={WEBHOOK_SERVICE}"}) or {}
    n = sum(1 for s in doc.get("items") or [] for ep in s.get("endpoints") or []
            if (ep.get("conditions") or {}).get("ready", True))
    return n > 0, f"{WEBHOOK_SERVICE}: {n} ready endpoint(s)"


def _webhooks_ready(kube: Kube) -> tuple[bool, str]:
    missing = []
    for plural, name in WEBHOOK_CONFIGS:
        cfg = kube.get(f"/apis/admissionregistration.k8s.io/v1/{plural}/{name}")
        if cfg is None:
            missing.append(f"{name} not found")
        elif not all((wh.get("clientConfig") or {}).get("caBundle") for wh in cfg.get("webhooks") or []):
            missing.append(f"{name} has no CA bundle yet")
    return not missing, "; ".join(missing) or "CA bundle injected into both webhook configurations"


def _crds_established(kube: Kube, plurals: list[str]) -> tuple[bool, str]:
    waiting = []
    for p in plurals:
        crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{p}")
        if condition(crd, "Established") != "True":
            waiting.append(p)
    return not waiting, (f"{len(plurals) - len(waiting)}/{len(plurals)} CRDs Established"
                         + (f" (waiting: {', '.join(waiting[:3])}{'…' if len(waiting) > 3 else ''})" if waiting else ""))


def installed(kube: Kube) -> Installed:
    dep = kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}")
    if dep is None:
        return Installed(None, False, "not installed")
    tags = [image_tag(c.get("image", "")) for c in ((dep.get("spec") or {}).get("template") or {})
            .get("spec", {}).get("containers") or []]
    version = next((t for t in tags if t), None)
    ns = kube.get(f"/api/v1/namespaces/{NAMESPACE}") or {}
    sha = ((ns.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_SHA)
    problems = []
    checks: tuple[Callable[[], tuple[bool, str]], ...] = (
        lambda: _deployment_available(dep), lambda: _crds_established(kube, [f"{p}.{GROUP}" for p in KEY_CRDS]),
        lambda: _webhooks_ready(kube), lambda: _endpoints_ready(kube))
    for check in checks:
        ok, detail = check()
        if not ok:
            problems.append(detail)
    return Installed(version, not problems, "; ".join(problems) or "healthy", sha)


def install(kube: Kube, manifest: Manifest, version: str, sleep: Callable[[float], None], report: Callable[[str], None],
            timeout: float, poll: float) -> int:
    """Apply in dependency order and wait until Kueue serves its webhooks. Returns the number of objects applied."""
    objs = ordered([dict(o) for o in manifest.objects])
    custom = custom_kinds(objs)
    for o in objs:
        if o["kind"] == "Namespace" and o["metadata"]["name"] == NAMESPACE:
            meta = o["metadata"] = dict(o["metadata"])
            meta["annotations"] = {**(meta.get("annotations") or {}), ANNOTATION_VERSION: version,
                                   ANNOTATION_SHA: manifest.sha256}
    crds = [o["metadata"]["name"] for o in objs if o["kind"] == "CustomResourceDefinition"]
    applied = 0
    rank_done = -1
    for o in objs:
        rank = ORDER.get(o["kind"], OTHER)
        if rank > 1 >= rank_done and crds:
            report(f"applied {len(crds)} CRDs; waiting until they are Established")
            kube.wait("the Kueue CRDs to be Established", lambda: _crds_established(kube, crds), sleep, timeout,
                      poll, report)
        rank_done = rank
        kube.apply(o, custom)
        applied += 1
    report(f"applied {applied} objects with server-side apply (field manager {kube.field_manager})")
    dep_path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}"
    kube.wait(f"Deployment {NAMESPACE}/{DEPLOYMENT} to be Available",
              lambda: _deployment_available(kube.get(dep_path)), sleep, timeout, poll, report)
    kube.wait(f"Service {NAMESPACE}/{WEBHOOK_SERVICE} to have ready endpoints", lambda: _endpoints_ready(kube),
              sleep, timeout, poll, report)
    kube.wait("Kueue's CA bundle in its webhook configurations", lambda: _webhooks_ready(kube), sleep, timeout, poll,
              report)
    return applied


# ------------------------------------------------------------------------------------------ default queues
def default_queue_objects(quota: dict[str, str]) -> list[dict[str, Any]]:
    resources = list(quota)
    return [
        {"apiVersion": f"{GROUP}/v1beta1", "kind": "ResourceFlavor", "metadata": {"name": DEFAULT_FLAVOR}},
        {"apiVersion": f"{GROUP}/v1beta1", "kind": "ClusterQueue", "metadata": {"name": DEFAULT_CLUSTER_QUEUE},
         "spec": {"namespaceSelector": {},
                  "resourceGroups": [{"coveredResources": resources,
                                      "flavors": [{"name": DEFAULT_FLAVOR,
                                                   "resources": [{"name": r, "nominalQuota": q}
                                                                 for r, q in quota.items()]}]}]}},
        {"apiVersion": f"{GROUP}/v1beta1", "kind": "LocalQueue",
         "metadata": {"name": DEFAULT_LOCAL_QUEUE, "namespace": DEFAULT_LOCAL_QUEUE_NS},
         "spec": {"clusterQueue": DEFAULT_CLUSTER_QUEUE}},
    ]


def queue_path(obj: dict[str, Any]) -> str:
    plural = {"ResourceFlavor": "resourceflavors", "ClusterQueue": "clusterqueues", "LocalQueue": "localqueues"}[
        obj["kind"]]
    if obj["kind"] == "LocalQueue":
        return f"/apis/{GROUP}/v1beta1/namespaces/{obj['metadata']['namespace']}/{plural}/{obj['metadata']['name']}"
    return f"/apis/{GROUP}/v1beta1/{plural}/{obj['metadata']['name']}"


def gpu_nodes(answers: "Answers") -> tuple[int, ...]:
    """The most nodes each GPU pool can have (its autoscaler maximum, else its count): cluster_quota's input."""
    return tuple(p.autoscale.max if p.autoscale else p.count for p in answers.all_gpu_pools)


def cluster_quota(kube: Kube, pools: tuple[int, ...]) -> tuple[dict[str, str], str]:
    """Nominal quotas from what the nodes offer now: cpu and memory of every node; GPUs scaled to the GPU pool's
    autoscaler maximum (Kueue then admits up to what the autoscaler can add). ``pools``: gpu_nodes() of the answers."""
    from kubernetes.utils import parse_quantity

    nodes = (kube.get("/api/v1/nodes") or {}).get("items") or []
    cpu = sum(parse_quantity((n.get("status") or {}).get("allocatable", {}).get("cpu", "0")) for n in nodes)
    mem = sum(parse_quantity((n.get("status") or {}).get("allocatable", {}).get("memory", "0")) for n in nodes)
    quota = {"cpu": f"{int(cpu * 1000)}m", "memory": f"{int(mem / (1024 * 1024))}Mi"}
    note = f"cpu {quota['cpu']}, memory {quota['memory']} (allocatable of {len(nodes)} nodes)"
    if pools:
        gpu_nodes = [n for n in nodes if parse_quantity((n.get("status") or {}).get("allocatable", {}).get(GPU, "0")) > 0]
        per_node = max((int(parse_quantity(n["status"]["allocatable"][GPU])) for n in gpu_nodes), default=0)
        count = sum(pools)
        gpus = per_node * max(count, len(gpu_nodes))
        quota[GPU] = str(gpus)
        note += f", {GPU} {gpus}" + (f" ({per_node} per node x {count} nodes at most)" if per_node else
                                     " (no node advertises GPUs yet)")
    return quota, note

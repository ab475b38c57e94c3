"""The Kubernetes syntax of node labels and taints, and the label domains AKS and the kubelet keep for
themselves."""
from __future__ import annotations

import re

from wizard.answers.rules import got

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_K8S_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")


def _qualified_name_ok(key: str) -> bool:
    """Kubernetes qualified name: optional DNS subdomain prefix (<=253) + '/' + name (<=63)."""
    if key.count("/") > 1:
        return False
    prefix, _, name = key.rpartition("/")
    if "/" in key and not (prefix and len(prefix) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return bool(_K8S_NAME.fullmatch(name))


# AKS keeps kubernetes.azure.com/ for itself; the kubelet may set only node.kubernetes.io/ and
# kubelet.kubernetes.io/ of the kubernetes.io and k8s.io namespaces (NodeRestriction)
_RESERVED_LABEL_DOMAINS = ("kubernetes.azure.com", "kubernetes.io", "k8s.io")
_ALLOWED_LABEL_DOMAINS = ("node.kubernetes.io", "kubelet.kubernetes.io")


def _reserved_prefix(key: str) -> str | None:
    prefix = key.rpartition("/")[0].lower()
    if not prefix or any(prefix == d or prefix.endswith("." + d) for d in _ALLOWED_LABEL_DOMAINS):
        return None
    return next((d for d in _RESERVED_LABEL_DOMAINS if prefix == d or prefix.endswith("." + d)), None)


def check_label_key(value: str) -> str | None:
    if not _qualified_name_ok(value):
        return (
            "a label key must be an optional DNS prefix and '/', then 1-63 characters of letters, "
            f"digits, '-', '_' and '.', starting and ending with a letter or digit {got(value)}"
        )
    if domain := _reserved_prefix(value):
        return (f"the {domain}/ prefix is reserved (AKS and Kubernetes set those labels themselves); use your own "
                f"prefix, like example.com/ {got(value)}")
    return None


def check_label_value(value: str) -> str | None:
    if _LABEL_VALUE.fullmatch(value):
        return None
    return (
        "a label value must be empty or 1-63 characters of letters, digits, '-', '_' and '.', "
        f"starting and ending with a letter or digit {got(value)}"
    )


def check_taint(value: str) -> str | None:
    """Kubernetes taint ``key[=value]:Effect`` (e.g. ``sku=gpu:NoSchedule``, ``nvidia.com/gpu:NoSchedule``)."""
    shape = (
        "must be key=value:Effect (the value may be empty) with Effect one of "
        f"{', '.join(TAINT_EFFECTS)} {got(value)}"
    )
    head, sep, effect = value.rpartition(":")
    if not sep or not head:
        return shape
    if effect not in TAINT_EFFECTS:
        return shape
    key, _, taint_value = head.partition("=")
    if not _qualified_name_ok(key):
        return (
            "the taint key must be an optional DNS prefix and '/', then 1-63 characters of "
            f"letters, digits, '-', '_' and '.' {got(value)}"
        )
    if not _LABEL_VALUE.fullmatch(taint_value):
        return (
            "the taint value must be empty or 1-63 characters of letters, digits, '-', '_' "
            f"and '.', starting and ending with a letter or digit {got(value)}"
        )
    if domain := _reserved_prefix(key):
        return f"the {domain}/ prefix is reserved for taints AKS and Kubernetes set {got(value)}"
    return None


def check_taints(taints: list[str]) -> str | None:
    """A node has one taint per key and effect: a repeat is a mistake, two values for one key and effect a
    contradiction (Kubernetes refuses both)."""
    seen: dict[tuple[str, str], str] = {}
    for t in taints:
        head, _, effect = t.rpartition(":")
        key = head.partition("=")[0]
        prior = seen.get((key, effect))
        if prior == t:
            return f"taint {t!r} is given twice"
        if prior is not None:
            return f"taints {prior!r} and {t!r} give the key {key!r} two values for effect {effect}; keep one"
        seen[(key, effect)] = t
    return None

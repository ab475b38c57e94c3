"""Rebuild v*/manifests.yaml: the simulator's copy of a Kueue release manifest (not imported at run time).

Input is the release manifest itself (`kustomize build config/default` of the release tag with the release image,
as Kueue's `make artifacts` does; wizard/addons/manifests/ ships it for real installs). The simulator's copy is
that file with each CRD's openAPIV3Schema trimmed below the fields of spec/status (below that, unknown fields are
preserved): the Workload CRD alone is ~700 KB because it embeds PodTemplateSpec, and the simulated API server
would spend most of an install on schemas it does not enforce. Every object and every other field is as released.

    python wizard/sim/data/kueue/build_manifest.py wizard/addons/manifests/kueue-v0.17.8.yaml.gz v0.17.8
"""
from __future__ import annotations

import gzip
import sys
from pathlib import Path

import yaml


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


def main(release: str, tag: str) -> None:
    raw = Path(release).read_bytes()
    text = gzip.decompress(raw).decode() if release.endswith(".gz") else raw.decode()
    out = []
    for o in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if not o:
            continue
        if o.get("kind") == "CustomResourceDefinition":
            for v in o["spec"]["versions"]:
                v["schema"]["openAPIV3Schema"] = trim(v["schema"]["openAPIV3Schema"], 3)
        out.append(o)
    header = (f"# Kueue {tag} release manifest for the simulator: the release's `kustomize build config/default`\n"
              "# with CRD schemas trimmed below spec/status fields (see build_manifest.py).\n")
    body = header + "---\n" + "---\n".join(yaml.safe_dump(o, sort_keys=False, width=120) for o in out)
    dest = Path(__file__).resolve().parent / tag / "manifests.yaml"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(body, encoding="utf-8")
    print(f"wrote {dest} ({len(body)} bytes, {len(out)} objects)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Evidence files a CNCF submission links (v1.37's hybrid approach: `file://results/junit.xml#Test...`): junit.xml
with one testcase per requirement and one per sub-check, named as the official suite's tests and subtests
(kubernetes-sigs/ai-conformance test/: TestSecureAcceleratorAccess/PositiveAccessTest, ...), and results.json, a
`go test -json` event stream of the same. Implemented = pass; Not Implemented = failure with its message;
Partially Implemented and N/A = skipped (presence is not the behaviour); inconclusive = error (could not decide).
A simulated run says so in the suite name, a property and every test's output."""
from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Report, RequirementResult

SIMULATED = "SIMULATED (aks-ai-wizard --simulate): not evidence from a real cluster"
PACKAGE = "aks-ai-wizard/conformance"


def test_name(r: "RequirementResult") -> str:
    return r.test or "Test" + "".join(p.capitalize() for p in r.id.split("_"))


def _cases(report: "Report") -> list[tuple[str, str, str, float]]:
    """(name, status pass|fail|skip|error, message, seconds) per requirement, then per sub-check."""
    out = []
    for r in report.results:
        status = {"pass": "pass", "fail": "fail", "inconclusive": "error"}.get(r.status, "skip")
        message = f"{r.checklist_status}: {r.summary}"
        out.append((test_name(r), status, message, r.duration))
        for s in r.subchecks:
            out.append((f"{test_name(r)}/{s.name}", s.status, s.message, 0.0))
    return out


def to_junit(report: "Report") -> str:
    sim = bool(report.metadata.get("simulated"))
    cases = _cases(report)
    suite = ET.Element("testsuite", {
        "name": (f"{SIMULATED} - " if sim else "") + f"Kubernetes AI Conformance v{report.checklist_version}",
        "tests": str(len(cases)), "failures": str(sum(c[1] == "fail" for c in cases)),
        "errors": str(sum(c[1] == "error" for c in cases)), "skipped": str(sum(c[1] == "skip" for c in cases)),
        "time": f"{sum(c[3] for c in cases):.3f}",
        "timestamp": (report.started or dt.datetime.now(dt.timezone.utc)).isoformat()})
    props = ET.SubElement(suite, "properties")
    for k, v in (("simulated", str(sim).lower()), ("checklist", report.checklist_version),
                 ("cluster", str(report.metadata.get("cluster_name") or report.metadata.get("api_server") or "")),
                 ("verifier", str(report.metadata.get("verifier", "")))):
        ET.SubElement(props, "property", {"name": k, "value": v})
    for name, status, message, seconds in cases:
        case = ET.SubElement(suite, "testcase", {"classname": PACKAGE, "name": name, "time": f"{seconds:.3f}"})
        tag = {"fail": "failure", "error": "error", "skip": "skipped"}.get(status)
        if tag:
            ET.SubElement(case, tag, {"message": message[:500]}).text = message
        out = ET.SubElement(case, "system-out")
        out.text = (SIMULATED + "\n" if sim else "") + message
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_go_test_json(report: "Report") -> str:
    """One JSON object per line, as `go test -json` writes them (Time, Action, Package, Test, Output, Elapsed)."""
    sim = bool(report.metadata.get("simulated"))
    pkg = PACKAGE + (" [SIMULATED]" if sim else "")
    t = (report.started or dt.datetime.now(dt.timezone.utc))
    lines: list[dict[str, Any]] = [{"Time": t.isoformat(), "Action": "start", "Package": pkg}]
    by_req = {test_name(r): r for r in report.results}
    for name, status, message, seconds in _cases(report):
        action = {"pass": "pass", "fail": "fail", "error": "fail", "skip": "skip"}[status]
        lines.append({"Time": t.isoformat(), "Action": "run", "Package": pkg, "Test": name})
        text = [f"=== RUN   {name}\n"]
        if sim:
            text.append(f"    {SIMULATED}\n")
        r = by_req.get(name)
        for e in (r.evidence if r else []):
            text.append(f"    {e}\n")
        text.append(f"    {message}\n")
        text.append(f"--- {action.upper()}: {name} ({seconds:.2f}s)\n")
        lines += [{"Time": t.isoformat(), "Action": "output", "Package": pkg, "Test": name, "Output": o} for o in text]
        lines.append({"Time": t.isoformat(), "Action": action, "Package": pkg, "Test": name, "Elapsed": round(seconds, 3)})
    ok = report.must_ok
    lines.append({"Time": (report.finished or t).isoformat(), "Action": "output", "Package": pkg,
                  "Output": ("PASS\n" if ok else "FAIL\n")})
    lines.append({"Time": (report.finished or t).isoformat(), "Action": "pass" if ok else "fail", "Package": pkg,
                  "Elapsed": round(((report.finished or t) - t).total_seconds(), 3)})
    return "\n".join(json.dumps(x) for x in lines) + "\n"


def anchor(r: "RequirementResult") -> str:
    """The evidence link of a requirement in PRODUCT.yaml (relative to it)."""
    return f"file://results/junit.xml#{re.sub(r'[^A-Za-z0-9/_]', '', test_name(r))}"

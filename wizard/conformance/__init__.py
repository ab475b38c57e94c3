"""Verification of a cluster against the CNCF Kubernetes AI Conformance checklist (v1.34 default; 1.35, 1.36).

    from wizard.conformance import run_verification, VerifyTarget, VerifyOptions
    report = run_verification(VerifyTarget(kubeconfig=b"...", cluster=arm_json, pools=[...]),
                              VerifyOptions(probes=False, checklist="1.34"), on_result=print)
    report.must_ok; report.to_markdown(); report.to_product_yaml(); report.write("out/")
"""
from __future__ import annotations

from .checklist import VERSIONS, Checklist, Requirement, load_checklist
from .model import Report, RequirementResult, VerifyOptions, VerifyTarget
from .report import validate_product
from .runner import run_verification

__all__ = ["run_verification", "VerifyTarget", "VerifyOptions", "Report", "RequirementResult", "load_checklist",
           "Checklist", "Requirement", "VERSIONS", "validate_product"]

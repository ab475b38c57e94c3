"""Preflight: everything that would make the first write fail, found with reads only, as a checklist with the
fix for every failing item; and GPU sizing (sizes, quota room, list prices) for the GPU pool step and
`aks-ai-wizard gpu-sizes`.

    from wizard.preflight import run_preflight, PreflightReport, CheckResult
    report = run_preflight(conn, answers, plan)      # plan = wizard.plan.build_plan(answers, observed)
    report.ok, report.text(), report.to_dict()
"""
from __future__ import annotations

from typing import Any

from wizard.preflight.features import provider_register_failure, register_failure
from wizard.preflight.report import CheckResult, PreflightReport
from wizard.preflight.run import run_preflight

__all__ = ["run_preflight", "PreflightReport", "CheckResult", "register_failure", "provider_register_failure",
           "gpu_sizes"]


def gpu_sizes(*args: Any, **kwargs: Any) -> Any:  # a thin lazy re-export
    from wizard.preflight.sizing import gpu_sizes as _gpu_sizes

    return _gpu_sizes(*args, **kwargs)

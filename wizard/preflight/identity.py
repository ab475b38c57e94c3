"""Preflight item `kubernetes-access`: will the cluster's Kubernetes API admit the signed-in principal?

With Microsoft Entra ID, AKS admits members of the answers' admin groups (Kubernetes RBAC) and, with Azure RBAC,
holders of a Kubernetes data-plane role at the cluster, its group or subscription (wizard.azure.roles). Owner of
the subscription is not enough. Reads only: the principal's own token and its role assignments.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from wizard.arm_ids import cluster_id
from wizard.preflight.report import CheckResult

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.plan_model import Plan

log = logging.getLogger(__name__)
ID, TITLE = "kubernetes-access", "the signed-in principal on the Kubernetes API (Entra ID)"


def check_admission(conn: "ArmConnection", answers: "Answers", plan: "Plan") -> list[CheckResult]:
    from wizard.azure import roles

    if not roles.wanted(answers):
        return []
    access = answers.cluster.access
    scope = cluster_id(conn.subscription_id, answers.resource_group.name, answers.cluster.name)
    try:
        principal = roles.signed_in_principal(conn.credential)
        adm = roles.admission(conn, answers, principal)
    except Exception as exc:  # noqa: BLE001 - an unreadable answer is a warning, never a crash
        log.info("role assignments unreadable: %s", exc)
        return [CheckResult(ID, TITLE, "warn", f"The role assignments could not be read ({type(exc).__name__}): "
                            "whether AKS will admit this principal is unknown.",
                            f"make sure you hold {roles.ROLE} on the cluster: {roles.az_create(None, scope)}", None)]
    data = {"principal": principal.object_id if principal else None, "role": roles.ROLE, "scope": scope,
            "admitted": adm.admitted}
    if adm.admitted:
        return [CheckResult(ID, TITLE, "pass", f"Admitted: {adm.how}.", "", None, data)]
    groups = ", ".join(access.admin_group_object_ids) or "none in the answers"
    if principal is None:
        return [CheckResult(ID, TITLE, "warn", f"{adm.how.capitalize()}: whether AKS will admit it is unknown.",
                            f"make sure you hold {roles.ROLE} on the cluster: {roles.az_create(None, scope)}", None, data)]
    if access.azure_rbac:
        step = next((s for s in plan.steps if s.id == roles.STEP), None)
        planned = step is not None and step.writes
        return [CheckResult(
            ID, TITLE, "pass" if planned else "warn",
            f"Not admitted yet: {adm.how}; admin groups: {groups}. The Kubernetes steps and the verification need "
            f"{roles.ROLE} on the cluster" + (f": apply grants it (step {roles.STEP}, after the cluster PUT; it needs "
                                              "Owner, User Access Administrator or Role Based Access Control "
                                              "Administrator) and waits until the API server admits it: "
                                              f"{roles.az_create(principal, scope)}" if planned else "."),
            f"grant it: {roles.az_create(principal, scope)}", None, data)]
    new = plan.observed.cluster is None
    return [CheckResult(
        ID, TITLE, "fail" if new else "warn",
        f"Not admitted: {principal.name} is in none of the admin groups ({groups}) and Azure RBAC is off, so no role "
        "assignment can admit it: the Kubernetes steps and the verification would be refused (403 Forbidden).",
        f"add {principal.object_id} to an admin group (az ad group member add --group <group id> --member-id "
        f"{principal.object_id}) or set cluster.access.azure_rbac: true", "cluster.access.admin_group_object_ids",
        data)]

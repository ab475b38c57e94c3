"""The AI add-ons the conformance checklist relies on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from screens.base import StepScreen

from screens.steps.common import switch_row

if TYPE_CHECKING:
    pass


ADDONS = (
    ("cluster.addons.keda", "KEDA", "pod_autoscaling: scale pods on custom and external AI metrics (HPA via "
                                    "KEDA)."),
    ("cluster.addons.kaito", "KAITO", "robust_controller: a complex AI operator with CRDs and webhooks that "
                                      "reconciles reliably."),
    ("cluster.addons.managed_prometheus", "Managed Prometheus", "ai_service_metrics: discover and collect "
                                                                "Prometheus-format metrics from AI workloads."),
    ("kueue.install", "Kueue", "gang_scheduling: all-or-nothing scheduling of distributed AI jobs."),
)


class AddonsScreen(StepScreen):
    STEP = "addons"

    def form(self) -> ComposeResult:
        yield Static("Add-ons the AI conformance checklist relies on; each line names the requirement it "
                     "serves.", classes="lead", markup=False)
        for path, label, line in ADDONS:
            value = self.draft.get(path)
            yield from switch_row(label, value is not False, "addon-" + path.rsplit(".", 1)[-1], line, must=path)

    def store(self) -> None:
        for path, _label, _line in ADDONS:
            self.draft.set(path, self.query_one("#addon-" + path.rsplit(".", 1)[-1], Checkbox).value)

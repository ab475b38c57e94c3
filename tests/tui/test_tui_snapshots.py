"""Snapshot tests of every screen at 80x24 (the smallest terminal everything must fit without clipping),
failure states included, a few at 120x40 and in the light theme.

The form screens read live data from one shared simulator (deterministic: fixed subscription id, catalog
as data). The run and verification screens are fed fixed engine events and a fixed report, so elapsed
times and statuses never vary. Cursor blink is off in headless runs; no clock is shown.
Update with: pytest tests/tui/test_tui_snapshots.py --snapshot-update
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest

from screens.app import WizardApp
from screens.state import Draft
from wizard.interactive import Link, connect
from wizard.session import SimOptions

pytestmark = pytest.mark.timeout(120)
SIZE = (80, 24)
LARGE = (120, 40)

DRAFT: dict[str, Any] = {
    "version": 1,
    "azure": {"cloud": "AzureCloud", "auth": "default", "subscription": "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513",
              "location": "eastus2"},
    "resource_group": {"name": "rg-snap"},
    "cluster": {"name": "aks-snap", "kubernetes_version": "1.34", "tier": "Standard",
                "system_pool": {"vm_size": "Standard_D4ds_v5", "count": 2},
                "istio": {"enabled": True, "revision": "auto"}, "gateway_api": True},
    "features": "auto",
    "gpu_pool": {"name": "gpunp", "vm_size": "Standard_NC4as_T4_v3", "count": 1, "autoscale": {"min": 1, "max": 3},
                 "taints": ["sku=gpu:NoSchedule"], "labels": {"workload": "ai"}, "managed_gpu": False},
}


class SharedLink(Link):
    """One simulator for every snapshot: the app's exit must not stop it."""

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def link() -> Iterator[Link]:
    real = connect(sim=SimOptions(speed=3000.0))
    yield SharedLink(real.conn, real.poll_interval, real.simulator, real.cloud_name, real.time_scale)
    real.close()


def make_app(link: Link | None, data: dict[str, Any] | None = None) -> WizardApp:
    app = WizardApp(sim=SimOptions(speed=3000.0), start=False)
    app.state.draft = Draft(data if data is not None else DRAFT)
    app.state.run_folder = Path("runs/snapshot")  # the default folder is unique per session: fixed here
    if link is not None:
        app.state.link = link
        app.state.session = link.bind(link.simulator.subscription_id, "Simulated Subscription")
    return app


async def settle(pilot: Any) -> None:
    """Wait for every live read (thread workers) and the messages they post."""
    app = pilot.app
    quiet = 0
    for _ in range(500):  # a finished read may start the next one (plan -> preflight): need a quiet spell
        busy = [w for w in app.workers if w.group.startswith("fetch") and w.state.name in ("PENDING", "RUNNING")]
        quiet = 0 if busy else quiet + 1
        if quiet >= 5:
            break
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()


def step_snapshot(snap_compare: Any, link: Link | None, step: str, size: tuple[int, int] = SIZE,
                  data: dict[str, Any] | None = None, press: tuple[str, ...] = (),
                  theme: str | None = None) -> bool:
    app = make_app(link, data)

    async def run_before(pilot: Any) -> None:
        if theme:
            app.theme = theme
        await app.push_screen(app.make_screen(step))
        await settle(pilot)
        for body in app.screen.query("#body"):
            body.scroll_home(animate=False)  # a list highlight may scroll the form by a line, depending on timing
        await pilot.pause()
        if press:
            await pilot.press(*press)
            await settle(pilot)

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_welcome(snap_compare: Any) -> None:
    assert step_snapshot(snap_compare, None, "welcome")


def test_subscription(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "subscription")


def test_location(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "location")


def test_cluster_with_an_invalid_name_refused(snap_compare: Any, link: Link) -> None:
    data = {**DRAFT, "cluster": {**DRAFT["cluster"], "name": "-bad-"}}
    assert step_snapshot(snap_compare, link, "cluster", data=data, press=("ctrl+n",))


def test_cluster_at_120x40(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "cluster", size=LARGE)


def test_mesh(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "mesh")


def test_features(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "features")


def test_gpu(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "gpu")


def test_addons(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "addons")


def production_draft() -> dict[str, Any]:
    """examples/production.yaml as the wizard prefills it."""
    from wizard.answers import load_partial

    data, errors = load_partial(Path(__file__).resolve().parents[2] / "examples" / "production.yaml")
    assert not errors
    return data


def test_network(snap_compare: Any, link: Link) -> None:
    """Own subnet checked live (preflight's rule), private API server and what it means for verify."""
    assert step_snapshot(snap_compare, link, "network", size=LARGE, data=production_draft())


def test_network_defaults(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "network")


def test_identity(snap_compare: Any, link: Link) -> None:
    """Entra ID with Azure RBAC, an admin group, local accounts off, workload identity; the role to verify."""
    assert step_snapshot(snap_compare, link, "identity", size=LARGE, data=production_draft())


def test_gpu_pools(snap_compare: Any, link: Link) -> None:
    """Two pools from the production example, the Spot one highlighted: its Spot fields, costs per pool."""
    assert step_snapshot(snap_compare, link, "gpu", size=LARGE, data=production_draft(), press=("tab", "down"))


def test_review(snap_compare: Any, link: Link, tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert step_snapshot(snap_compare, link, "review")


# ------------------------------------------------------------------------------------------- run, verify
def fixed_plan() -> Any:
    """A plan built without Azure (build_plan is pure) from fixed observations."""
    from wizard.answers import answers_from_dict
    from wizard.azure.catalog import KubeVersion, MeshRevision
    from wizard.plan_model import Observed
    from wizard.plan import build_plan

    answers = answers_from_dict(DRAFT)
    observed = Observed("3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513", "Simulated Subscription",
                        flag_states={"Microsoft.ContainerService/ManagedGatewayAPIPreview": "NotRegistered"},
                        versions=[KubeVersion("1.34", ("1.34.3",), ("KubernetesOfficial",), True)],
                        revisions=[MeshRevision("asm-1-28", ("1.34", "1.35"))])
    return build_plan(answers, observed)


def quota_failure() -> Any:
    from wizard.failure import AzureFailure

    return AzureFailure(
        "quota", "ErrCode_InsufficientVCPUQuota", "The cluster request was refused: not enough GPU vCPU quota.",
        "Insufficient vcpu quota requested 24, remaining 0 for family standardNCADSA100v4Family for region "
        "eastus2 [/subscriptions/3f2c/resourceGroups/rg-snap].", "Request more quota, or choose a smaller GPU "
        "size or fewer nodes.", "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000",
        400, "Insufficient vcpu quota", "gpu_pool.vm_size")


RUN_EVENTS = (
    ("started", "resource-group", "create resource group rg-snap in eastus2", "", 0.0),
    ("done", "resource-group", "resource group rg-snap created", "Succeeded", 1.2),
    ("started", "feature:ManagedGatewayAPIPreview", "register preview feature", "", 0.0),
    ("progress", "feature:ManagedGatewayAPIPreview", "Registering", "Registering", 64.0),
    ("done", "feature:ManagedGatewayAPIPreview", "Registered", "Registered", 301.0),
    ("started", "provider", "re-register Microsoft.ContainerService", "", 0.0),
    ("done", "provider", "Microsoft.ContainerService is Registered", "Registered", 58.0),
    ("started", "cluster", "create cluster aks-snap [with brackets] in one request", "", 0.0),
    ("log", "cluster", "Azure accepted the request (request id 2a39a5e3)", "", 0.0),
    ("progress", "cluster", "operation InProgress", "InProgress", 184.0),
)


async def run_events(app: WizardApp, pilot: Any, failed: bool) -> Any:
    """Push a run screen (no engine) and feed it fixed events; a quota failure of the cluster when `failed`."""
    from screens.run import RunScreen
    from wizard.events import Event

    screen = RunScreen(app.state, fixed_plan(), start=False)
    await app.push_screen(screen)
    await pilot.pause()
    events = [Event(kind, step, message, status, elapsed) for kind, step, message, status, elapsed in RUN_EVENTS]
    if failed:
        events[-2:] = [Event("failed", "cluster", "not enough GPU vCPU quota", "ErrCode_InsufficientVCPUQuota", 0.4)]
    for e in events:
        screen.apply_event(e)
    if failed:
        screen.finish("failed", "cluster", quota_failure(), None)
    await pilot.pause()
    await pilot.pause()
    return screen


def run_snapshot(snap_compare: Any, failed: bool, theme: str | None = None, size: tuple[int, int] = SIZE,
                 press: tuple[str, ...] = ()) -> bool:
    app = make_app(None)

    async def run_before(pilot: Any) -> None:
        if theme:
            app.theme = theme
        await run_events(app, pilot, failed)
        if press:
            await pilot.press(*press)
            await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_run_in_progress(snap_compare: Any) -> None:
    assert run_snapshot(snap_compare, failed=False)


def test_run_timeline(snap_compare: Any) -> None:
    assert run_snapshot(snap_compare, failed=False, press=("t",))


def test_run_failed_with_fix(snap_compare: Any) -> None:
    assert run_snapshot(snap_compare, failed=True)


def test_run_failed_with_fix_light_theme_120x40(snap_compare: Any) -> None:
    assert run_snapshot(snap_compare, failed=True, theme="textual-light", size=LARGE)


def fixed_report() -> Any:
    from wizard.conformance.model import CHECKLIST_STATUS, Report, RequirementResult

    rows = [
        ("dra_support", "accelerators", "pass", "resource.k8s.io/v1 serves deviceclasses", None),
        ("ai_inference", "networking", "partial", "Azure: ingressProfile.gatewayAPI.installation=Standard",
         "run with probes to prove routing"),
        ("gang_scheduling", "schedulingOrchestration", "fail", "no Kueue or Volcano CRDs",
         "answers: kueue.install: true"),
        ("cluster_autoscaling", "schedulingOrchestration", "skipped", "no autoscaler on the GPU pool", None),
        ("ai_service_metrics", "observability", "pass", "Azure: azureMonitorProfile.metrics.enabled", None),
    ]
    results = [RequirementResult(rid, "MUST", cat, f"{rid} description", status, CHECKLIST_STATUS[status],
                                 summary, [summary, "second line of evidence [/subscriptions/x]"], fix)
               for rid, cat, status, summary, fix in rows]
    return Report(results, "1.34")


def verify_snapshot(snap_compare: Any, size: tuple[int, int] = SIZE, then: Any = None) -> bool:
    """The verification screen with the fixed report; `then(screen, pilot)` does more before the picture."""
    from screens.verify import VerifyScreen

    app = make_app(None)

    async def run_before(pilot: Any) -> None:
        screen = VerifyScreen(app.state, start=False)
        await app.push_screen(screen)
        await pilot.pause()
        screen.show_report(fixed_report())
        await pilot.pause()
        if then is not None:
            await then(screen, pilot)
            await pilot.pause()

    return snap_compare(app, terminal_size=size, run_before=run_before)


def test_verification(snap_compare: Any) -> None:
    async def down(screen: Any, pilot: Any) -> None:
        await pilot.press("down", "down")

    assert verify_snapshot(snap_compare, then=down)


def test_verification_probing(snap_compare: Any) -> None:
    """Probes under way: rows still probing say so with what the read-only run found; results replace them."""
    async def probing(screen: Any, pilot: Any) -> None:
        screen.run_worker = lambda *a, **k: None  # no cluster: a result is fed below
        screen.start_verification(probes=True)
        screen.add_result(fixed_report().results[0])

    assert verify_snapshot(snap_compare, then=probing)


def test_verification_120x40(snap_compare: Any) -> None:
    assert verify_snapshot(snap_compare, size=LARGE)


def fixed_teardown() -> Any:
    from wizard.plan_model import Observed, Plan, Step
    from wizard.teardown import TeardownPlan

    plan = fixed_plan()
    steps = [Step("delete-cluster", "delete cluster aks-snap (created 2026-01-01T10:00:00+00:00, with its node pools "
                  "and node resource group)", "update", "az aks delete -g rg-snap -n aks-snap --yes", typical=600),
             Step("delete-monitor:rule", "delete data collection rule MSProm-eastus2-aks-snap (created for this "
                  "cluster's managed Prometheus)", "update", "az monitor data-collection rule delete -g rg-snap -n "
                  "MSProm-eastus2-aks-snap --yes", deps=("delete-cluster",), typical=2),
             Step("delete-group", "delete resource group rg-snap (created by this wizard; empty once the cluster is "
                  "gone)", "update", "az group delete -n rg-snap --yes",
                  deps=("delete-cluster", "delete-monitor:rule"), typical=60)]
    return TeardownPlan(Plan(plan.answers, Observed(plan.observed.subscription_id, plan.observed.subscription_name), None, steps),
                        kept=["Azure Monitor workspace amw-eastus2 (shared by other clusters)"],
                        flags=["Microsoft.ContainerService/ManagedGatewayAPIPreview"])


def teardown_snapshot(snap_compare: Any, running: bool) -> bool:
    from screens.teardown import TeardownModal
    from wizard.events import Event

    app = make_app(None)

    async def run_before(pilot: Any) -> None:
        modal = TeardownModal(app.state, start=False)
        await app.push_screen(modal)
        await pilot.pause()
        modal.show_plan(TeardownModal.Planned(fixed_teardown()))
        await pilot.pause()
        await pilot.press(*"aks-snap")
        if running:
            modal.run_worker = lambda *a, **k: None  # type: ignore[method-assign] - no engine: fixed events below
            await pilot.press("enter")
            for e in (Event("started", "delete-cluster", "delete cluster"),
                      Event("progress", "delete-cluster", "Azure reports the deletion InProgress", "InProgress", 95.0)):
                modal.post_message(TeardownModal.TeardownEvent(e))
        await pilot.pause()

    return snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_teardown_confirm(snap_compare: Any) -> None:
    assert teardown_snapshot(snap_compare, running=False)


def test_teardown_running(snap_compare: Any) -> None:
    assert teardown_snapshot(snap_compare, running=True)


def test_quit_during_a_run_says_what_keeps_running(snap_compare: Any) -> None:
    app = make_app(None)

    async def run_before(pilot: Any) -> None:
        screen = await run_events(app, pilot, failed=False)
        screen.running = True
        await pilot.press("ctrl+q")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_quit_offers_to_save(snap_compare: Any, link: Link) -> None:
    assert step_snapshot(snap_compare, link, "addons", press=("ctrl+q",))


def test_readme_opens_with_a_screenshot_that_is_a_snapshot(request: Any) -> None:
    """The README's picture is the verification snapshot above, so it shows what the wizard really draws;
    `--snapshot-update` refreshes it with the snapshots."""
    repo = Path(__file__).resolve().parents[2]
    source = Path(__file__).with_name("__snapshots__") / "test_tui_snapshots" / "test_verification_120x40.svg"
    target = repo / "docs" / "wizard-verification.svg"
    if request.config.getoption("--snapshot-update", default=False):
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert target.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    opening = (repo / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "](docs/wizard-verification.svg)" in opening

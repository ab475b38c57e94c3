"""Pilot tests of the interactive wizard against the embedded simulator, with the real engine and the real
SDK clients (no fakes): the whole flow, a failure with its fix, back-and-forth, prefill, markup safety."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Input, Select

from screens.app import WizardApp
from screens.choice import ChoiceList
from screens.widgets import Field, KeyBar, StepHeader
from tests.support.tui import held, simulator, table_rows, text_of, type_into, wait_for, wait_screen
from wizard.session import SimOptions

pytestmark = pytest.mark.timeout(120)
SIZE = (100, 40)


def make_app(tmp_path: Path, speed: float = 3000.0, faults: list[str] | None = None,
             answers: Path | None = None) -> WizardApp:
    return WizardApp(sim=SimOptions(speed=speed, faults=faults or []),
                     answers_path=answers or tmp_path / "aks-ai-wizard.yaml")


async def sign_in(pilot) -> None:
    screen = await wait_screen(pilot, "WelcomeScreen")
    assert "SIMULATED" in screen.query_one(StepHeader).render().plain
    await pilot.press("ctrl+n")


async def pick_subscription(pilot) -> None:
    screen = await wait_screen(pilot, "SubscriptionScreen")
    lst = screen.query_one("#subscription", ChoiceList)
    await wait_for(pilot, lambda: lst.items, what="subscriptions")
    assert lst.value == "3f2c8a9e-5b1d-4c7e-9a60-2d84f1b7c513"  # the current default, preselected
    await pilot.press("ctrl+n")


async def location_and_group(pilot, location: str = "eastus2", group: str = "rg-tui") -> None:
    screen = await wait_screen(pilot, "LocationScreen")
    sel = screen.query_one("#location", Select)
    await wait_for(pilot, lambda: getattr(screen, "locations", None), what="locations")
    sel.value = location
    await type_into(pilot, "#rg-name", group)
    await pilot.press("ctrl+n")


async def cluster(pilot, name: str = "aks-tui", version: str = "1.34") -> None:
    screen = await wait_screen(pilot, "ClusterScreen")
    await type_into(pilot, "#name", name)
    lst = screen.query_one("#version", ChoiceList)
    await wait_for(pilot, lambda: lst.items, what="versions")
    lst.select_value(version)
    await pilot.press("ctrl+n")


async def walk_to_features(pilot) -> Any:
    """From the start to the preview-features step with its live flag states shown; returns that screen."""
    await sign_in(pilot)
    await pick_subscription(pilot)
    await location_and_group(pilot)
    await cluster(pilot)
    await wait_screen(pilot, "NetworkScreen")  # the defaults: Azure CNI Overlay, public API server
    await pilot.press("ctrl+n")
    await wait_screen(pilot, "IdentityScreen")  # the defaults: local accounts, no Entra ID
    await pilot.press("ctrl+n")
    screen = await wait_screen(pilot, "MeshScreen")
    await wait_for(pilot, lambda: getattr(screen, "revisions", None) is not None, what="revisions")
    await pilot.press("ctrl+n")
    screen = await wait_screen(pilot, "FeaturesScreen")
    await wait_for(pilot, lambda: getattr(screen, "provider_state", None), what="flag states")
    return screen


async def walk_to_review(pilot, gpu_size: str = "Standard_NC4as_T4_v3") -> None:
    await walk_to_features(pilot)
    await pilot.press("ctrl+n")
    await wait_screen(pilot, "GpuScreen")
    await type_into(pilot, "#gpu-size", gpu_size)
    await pilot.press("ctrl+n")
    await wait_screen(pilot, "AddonsScreen")
    await pilot.press("ctrl+n")
    screen = await wait_screen(pilot, "ReviewScreen")
    await wait_for(pilot, lambda: pilot.app.state.plan is not None and not screen.query_one("#next").disabled,
                   timeout=30, what="plan and preflight")


async def wait_row(pilot, run, step: str, status: str) -> list[str]:
    """Wait until the run screen's row for `step` is running with Azure's `status` and an elapsed time."""
    def row() -> list[str] | None:
        run._tick()  # what the screen's one-second timer does outside headless runs
        r = {r[0]: r for r in table_rows(run, "#steps")}.get(step)
        return r if r and r[1] == "running" and r[2] == status and re.fullmatch(r"\d+s", r[3]) else None

    try:
        return await wait_for(pilot, row, what=f"{step} running with Azure status {status}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; rows: {table_rows(run, '#steps')}") from None


async def run_held(pilot, app: WizardApp, sim: Any, tmp_path: Path) -> None:
    """Start the run with the simulator held; step it through the flags, the provider and the cluster PUT."""
    await pilot.press("ctrl+n")  # Start: saves the answers, then runs

    run = await wait_screen(pilot, "RunScreen")
    assert (tmp_path / "aks-ai-wizard.yaml").exists()
    # progress is visible while Azure works: each step's row shows Azure's own status and the time so far
    flags = [s.id for s in app.state.plan.steps if s.id.startswith("feature:")]
    assert flags
    for flag in flags:
        await wait_row(pilot, run, flag, "Registering")
    await wait_row(pilot, run, "cluster", "InProgress")  # the create goes out while the flags register (issue 18)
    rows = {r[0]: r for r in table_rows(run, "#steps")}
    assert rows["resource-group"][1] == "done"
    assert rows["provider"][1] == rows["preview-fields"][1] == "waiting"  # they wait for the flags
    sim.complete_pending()  # the flags and the create finish; what is sent next is held again
    await wait_row(pilot, run, "provider", "Registering")
    sim.complete_pending()
    await wait_row(pilot, run, "preview-fields", "InProgress")  # the Gateway API, once its flag is Registered
    assert run.running and run.status == "pending"


@pytest.mark.timeout(400)  # the whole walk, probes with the scaling probe included
async def test_whole_flow_against_the_simulator(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_review(pilot)
        review = pilot.app.screen
        plan_text = text_of(review, "#plan")
        assert "create resource group rg-tui in eastus2" in plan_text
        assert "$ az" not in plan_text  # whole commands are one key away, never wrapped in the panel
        await pilot.press("ctrl+o")
        shown = await wait_screen(pilot, "TextModal")
        script = shown.text
        assert "\naz aks create -g rg-tui -n aks-tui" in script and "\naz feature register" in script
        await pilot.click("#save")
        assert (tmp_path / "aks-ai-wizard.az.sh").read_text() == script
        await pilot.press("escape")
        review = await wait_screen(pilot, "ReviewScreen")
        assert "Kubernetes 1.34 -> 1.34.3" in text_of(review, "#checks")
        with held(app) as sim:  # Azure (simulated) accepts the writes but finishes nothing until released
            await run_held(pilot, app, sim, tmp_path)
        run = app.screen
        await wait_for(pilot, lambda: run.status == "done", timeout=60, what="run done")
        rows = {r[0]: r for r in table_rows(run, "#steps")}
        assert rows["cluster"][1] == "done" and rows["cluster"][2] == "Succeeded"
        assert rows["provider"][1] == rows["preview-fields"][1] == "done"
        assert app.state.kubeconfig
        await pilot.press("ctrl+n")
        verify = await wait_screen(pilot, "VerifyScreen")
        await wait_for(pilot, lambda: verify.report is not None, timeout=60, what="verification")
        rows = {r[0]: r for r in table_rows(verify, "#results")}
        assert set(rows) == {"dra_support", "ai_inference", "gang_scheduling", "cluster_autoscaling",
                             "pod_autoscaling", "accelerator_metrics", "ai_service_metrics",
                             "secure_accelerator_access", "robust_controller"}
        assert all(r[1] in ("PASS", "PARTIAL", "FAIL", "SKIPPED") for r in rows.values())
        # details on selection
        table = verify.query_one("#results")
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        detail = text_of(verify, "#detail")
        assert "checklist status" in detail
        assert not verify.report.probes and any(r.status == "partial" for r in verify.report.results)
        # the probes prove what reading cannot: every row says it is being probed until its result arrives
        await pilot.press("ctrl+r")
        modal = await wait_screen(pilot, "ProbeModal")
        assert "Costs money: simulated: nothing is billed" in str(modal.query_one("#scaling", Checkbox).label)
        await pilot.click("#scaling")  # the opt-in probe that makes the autoscaler add a node
        await pilot.click("#run")
        await wait_screen(pilot, "VerifyScreen")  # (the rows while probing: the probing snapshot)
        # the scaling probe waits for a node to come and go: generous on a loaded machine
        await wait_for(pilot, lambda: not verify.pending and verify.report.probes, timeout=240, what="probes")
        statuses = {r.id: r.status for r in verify.report.results}
        assert all(s == "pass" for s in statuses.values()), statuses  # the scaling probe too: a node came and went
        scaling = next(r for r in verify.report.results if r.id == "cluster_autoscaling")
        assert "ScaleUp" in " ".join(str(e) for e in scaling.evidence), scaling.evidence
        assert "with probes" in text_of(verify, "#verify-status")
        # export of the report: the folder is asked for, prefilled beside the answers file
        await pilot.press("ctrl+e")
        ask = await wait_screen(pilot, "PathModal")
        assert ask.query_one("#path", Input).value == str(tmp_path / "aks-ai-wizard-conformance-report")
        await type_into(pilot, "#path", str(tmp_path / "report"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any((tmp_path / "report").iterdir()) if (tmp_path / "report").exists()
                       else False, what="report files")
        await tear_down(pilot, app, verify)
        await pilot.press("ctrl+n")  # Finish
        await wait_for(pilot, lambda: not app.is_running, what="exit")


async def tear_down(pilot, app: WizardApp, verify) -> None:
    """From the verification screen: the list, the typed name, progress, what was kept; Azure no longer has
    the cluster nor the group this wizard created."""
    sim = simulator(app)
    assert any(c["rg"] == "rg-tui" for c in sim.world.clusters.values()) and "rg-tui" in sim.world.resource_groups
    await pilot.click("#teardown")
    modal = await wait_screen(pilot, "TeardownModal")
    await wait_for(pilot, lambda: modal.status == "confirm", timeout=30, what="teardown list")
    listing = text_of(modal, "#td-text")
    assert "delete cluster aks-tui" in listing and "delete resource group rg-tui" in listing
    assert "$ az aks delete -g rg-tui -n aks-tui --yes" in listing
    assert "keeps Azure Monitor workspace" in listing
    assert "Type the cluster name (aks-tui)" in text_of(modal, "#td-status")
    delete = modal.query_one("#td-delete", Button)
    await type_into(pilot, "#td-confirm", "aks-tu")
    assert delete.disabled  # the name must match exactly
    await pilot.click("#td-delete")
    assert modal.status == "confirm"
    with held(app):  # the deletions stay InProgress while the dialog shows them
        await type_into(pilot, "#td-confirm", "aks-tui")
        assert not delete.disabled
        await pilot.click("#td-delete")
        await wait_for(pilot, lambda: {r[0]: r[1:3] for r in table_rows(modal, "#td-progress")}
                       .get("delete-cluster") == ["running", "InProgress"], what="cluster deletion in progress")
        assert modal.running and app.running_screen() is modal
    await wait_for(pilot, lambda: modal.status == "done", timeout=60, what="teardown done")
    await pilot.pause()  # the dialog grows by the result lines: click Close where it is now, not where it was
    rows = {r[0]: r[1] for r in table_rows(modal, "#td-progress")}
    assert rows["delete-cluster"] == rows["delete-group"] == "done"
    status = text_of(modal, "#td-status")
    assert status.startswith("Teardown done") and "Kept:" in status
    assert "Azure Monitor workspace" in status and "preview features stay registered" in status
    assert not any(c["rg"] == "rg-tui" for c in sim.world.clusters.values())
    assert "rg-tui" not in sim.world.resource_groups
    await pilot.click("#td-close")
    await wait_screen(pilot, "VerifyScreen")
    assert verify.query_one("#teardown", Button).disabled
    assert "Torn down" in text_of(verify, "#verify-status")


async def test_gpu_quota_failure_shows_its_fix_and_goes_back_to_the_gpu_step(tmp_path: Path) -> None:
    app = make_app(tmp_path, faults=["gpu-quota"])
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_review(pilot, gpu_size="Standard_NC24ads_A100_v4")
        review = pilot.app.screen
        await pilot.press("ctrl+n")  # refused: preflight already sees the quota problem
        await pilot.pause()
        assert type(pilot.app.screen).__name__ == "ReviewScreen"
        attention = text_of(review, "#preflight")
        assert attention.startswith("FAIL") and "quota" in attention.lower()
        review.query_one("#skip-preflight", Checkbox).value = True  # start anyway: Azure refuses it
        await pilot.press("ctrl+n")
        run = await wait_screen(pilot, "RunScreen")
        await wait_for(pilot, lambda: run.status == "failed", timeout=60, what="run failed")
        panel = run.query_one(".error-panel")
        body = str(panel.query_one(".error-body").content)
        assert "quota" in body.lower()
        assert "request id" in body
        fix = run.query_one("#fix", Button)
        assert "GPU node pool" in str(fix.label)
        await pilot.click("#fix")
        gpu = await wait_screen(pilot, "GpuScreen")
        # the answers were kept: the screen shows what was chosen before the failure
        assert gpu.query_one("#gpu-size", Input).value == "Standard_NC24ads_A100_v4"
        assert app.state.draft.get("cluster.name") == "aks-tui"
        # fix it (no GPU pool this time), and start again: the journal and Azure's state make it resume
        gpu.query_one("#gpu-on", Checkbox).value = False
        await pilot.press("ctrl+n")
        await wait_screen(pilot, "AddonsScreen")
        await pilot.press("ctrl+n")
        review = await wait_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: app.state.plan is not None and review.query_one("#next").disabled is False,
                       what="plan")
        assert "resource group rg-tui exists" in text_of(review, "#plan")
        await pilot.press("ctrl+n")
        run = await wait_screen(pilot, "RunScreen")
        await wait_for(pilot, lambda: run.status == "done", timeout=60, what="second run done")
        assert {r[0]: r[1] for r in table_rows(run, "#steps")}["resource-group"] == "skipped"


async def test_back_and_forth_keeps_answers_and_next_is_refused_with_the_reason(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pick_subscription(pilot)
        await location_and_group(pilot, location="westeurope", group="rg-keep")
        screen = await wait_screen(pilot, "ClusterScreen")
        await type_into(pilot, "#name", "-bad", keys=True)
        field = screen.query_one("#f-cluster-name", Field)
        await wait_for(pilot, lambda: "starting and ending" in field.error, what="inline error as typed")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert type(app.screen).__name__ == "ClusterScreen"  # Next refused, reason beside the field
        assert "starting and ending" in field.error
        await type_into(pilot, "#name", "aks-keep")
        await pilot.press("escape")  # Back keeps what was typed here
        screen = await wait_screen(pilot, "LocationScreen")
        await wait_for(pilot, lambda: getattr(screen, "locations", None), what="locations")
        assert screen.query_one("#location", Select).value == "westeurope"
        assert screen.query_one("#rg-name", Input).value == "rg-keep"
        await pilot.press("escape")
        await wait_screen(pilot, "SubscriptionScreen")
        await pilot.press("ctrl+n")
        await wait_screen(pilot, "LocationScreen")
        await pilot.press("ctrl+n")
        screen = await wait_screen(pilot, "ClusterScreen")
        assert screen.query_one("#name", Input).value == "aks-keep"
        await wait_for(pilot, lambda: screen.query_one("#version", ChoiceList).items, what="versions")
        disabled = [i for i in screen.query_one("#version", ChoiceList).items if not i.enabled]
        assert {i.value for i in disabled} == {"1.33", "1.32"}
        assert all("below 1.34" in i.reason for i in disabled)


async def test_sign_in_choices_by_keys_and_the_key_bar_by_mouse(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_screen(pilot, "WelcomeScreen")
        assert app.focused is screen.query_one("#auth")
        bar = screen.query_one(KeyBar)
        assert "Next" in bar.render().plain and "Back" not in bar.render().plain  # the first step has no Back
        await pilot.press("down", "tab", "down", "down", "escape")
        assert type(app.screen).__name__ == "WelcomeScreen"
        screen.store()
        assert app.state.draft.get("azure.auth") == "device_code"
        assert app.state.draft.get("azure.cloud") == "AzureUSGovernment"
        await pilot.press("up", "up", "shift+tab", "up")
        await pilot.click(KeyBar, offset=(bar.render().plain.index("Next"), 0))
        screen = await wait_screen(pilot, "SubscriptionScreen")
        assert app.state.draft.get("azure.auth") == "default" and app.state.draft.get("azure.cloud") == "AzureCloud"
        bar = screen.query_one(KeyBar)
        await wait_for(pilot, lambda: "Back" in bar.render().plain, what="Back in the key bar")
        await pilot.click(KeyBar, offset=(bar.render().plain.index("Back"), 0))
        await wait_screen(pilot, "WelcomeScreen")


async def test_partial_answers_file_asks_only_for_what_is_missing(tmp_path: Path) -> None:
    answers = tmp_path / "partial.yaml"
    answers.write_text(
        "version: 1\n"
        "azure: {subscription: Simulated Subscription, location: eastus2}\n"
        "resource_group: {name: rg-partial}\n"
        "cluster: {kubernetes_version: '1.34', istio: {enabled: true}, gateway_api: true}\n"  # no name
        "features: auto\n"
        "gpu_pool: {vm_size: Standard_NC4as_T4_v3}\n"
        "kueue: {install: true}\n", encoding="utf-8")
    app = make_app(tmp_path, answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        # subscription and location are answered: the wizard goes straight to the cluster name
        screen = await wait_screen(pilot, "ClusterScreen")
        assert screen.query_one("#name", Input).value == "aks-ai"  # the default is a value, not a placeholder
        assert "answered by partial.yaml" in text_of(screen, "#nav-status")  # says why it starts here
        await type_into(pilot, "#name", "aks-partial")
        await pilot.press("ctrl+n")
        # mesh (defaults), features, GPU pool and add-ons are answered too: review is next
        await wait_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: app.state.plan is not None, what="plan")
        assert app.state.draft.get("resource_group.name") == "rg-partial"
        # Back shows a step that was skipped, prefilled
        await pilot.press("escape")
        screen = await wait_screen(pilot, "AddonsScreen")
        assert screen.query_one("#addon-install", Checkbox).value is True


async def test_preview_features_register_from_the_screen_with_progress(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await walk_to_features(pilot)
        assert table_rows(screen, "#flags")[0][:2] == ["ManagedGatewayAPIPreview", "NotRegistered"]
        with held(app):
            await pilot.click("#register")
            # progress shows while Azure registers; provider re-registration is its own row
            await wait_for(pilot, lambda: [r[1:3] for r in table_rows(screen, "#reg-progress")][:1]
                           == [["running", "Registering"]], what="registration in progress")
            assert table_rows(screen, "#reg-progress")[1][1] == "waiting"
        await wait_for(pilot, lambda: [r[1] for r in table_rows(screen, "#reg-progress")] == ["done", "done"],
                       timeout=30, what="registered")
        assert table_rows(screen, "#reg-progress")[1][0].startswith("provider")
        await wait_for(pilot, lambda: table_rows(screen, "#flags")[0][1] == "Registered", what="state re-read")


async def test_quit_offers_to_save_partial_answers_that_prefill_the_next_start(tmp_path: Path) -> None:
    target = tmp_path / "later.yaml"
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await pick_subscription(pilot)
        await location_and_group(pilot, group="rg-later")
        await wait_screen(pilot, "ClusterScreen")
        await pilot.press("ctrl+q")
        modal = await wait_screen(pilot, "QuitModal")
        modal.query_one("#quit-path", Input).value = str(target)
        await pilot.click("#save")
        await wait_for(pilot, lambda: not app.is_running, what="exit")
    from wizard.answers import load_partial

    data, errors = load_partial(target)
    assert data["resource_group"]["name"] == "rg-later"
    assert any(e.path == "cluster" or e.path.startswith("cluster.") for e in errors)  # asked next time


async def test_failed_cluster_is_retried_by_default_and_recreated_with_consent(tmp_path: Path) -> None:
    app = make_app(tmp_path, faults=["lro-failed"])
    async with app.run_test(size=SIZE) as pilot:
        await walk_to_review(pilot)
        review = pilot.app.screen
        assert not review.query("#recreate-row")  # nothing failed yet: no such choice
        await pilot.press("ctrl+n")
        run = await wait_screen(pilot, "RunScreen")
        await wait_for(pilot, lambda: run.status == "failed", timeout=60, what="run failed")
        assert {r[0]: r[1] for r in table_rows(run, "#steps")}["cluster"] == "failed"
        sim = simulator(app)
        sim.clear_faults()  # whatever broke the agents is fixed now
        await pilot.click("#to-review")
        review = await wait_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: app.state.plan is not None and not review.query_one("#next").disabled,
                       timeout=30, what="plan")
        # the plan shows the cluster Failed with Azure's error; the default is the non-destructive retry
        cluster_step = next(s for s in app.state.plan.steps if s.id == "cluster")
        assert cluster_step.action == "retry" and "VMExtensionProvisioningError" in cluster_step.title
        assert "Nothing is deleted." in text_of(review, "#plan")
        await wait_for(pilot, lambda: review.query("#recreate-row"), what="the recreate choice")
        box = review.query_one("#recreate-failed", Checkbox)
        assert box.value is False and "Delete the failed cluster and create it again" in str(box.label)
        box.value = True  # consent
        await wait_for(pilot, lambda: app.state.plan is not None and not review.query_one("#next").disabled
                       and any(s.action == "recreate" for s in app.state.plan.steps), timeout=30,
                       what="plan with the recreate step")
        assert "The failed cluster aks-tui is deleted first" in text_of(review, "#plan")
        assert review.query_one("#recreate-failed", Checkbox).value is True
        before = len(sim.request_log)
        await pilot.press("ctrl+n")
        await wait_screen(pilot, "ConfirmModal")  # destructive: asked once more
        await pilot.click("#yes")
        run = await wait_screen(pilot, "RunScreen")
        await wait_for(pilot, lambda: run.status == "done", timeout=60, what="recreate run done")
        writes = [(r.method, r.status) for r in sim.request_log[before:]
                  if r.method in ("PUT", "DELETE") and r.path.lower().endswith("/managedclusters/aks-tui")]
        assert [m for m, _ in writes][:2] == ["DELETE", "PUT"], writes
        assert {r[0]: r[1] for r in table_rows(run, "#steps")}["cluster"] == "done"

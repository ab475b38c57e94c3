"""The interactive wizard in a subscription where Microsoft.ContainerService is not registered: Start registers
the provider, then reads what it hid and plans the rest in the same run, as `apply` does (no second Start)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screens.app import WizardApp
from tests.support.cli import unregister_provider, accepted, copy_example, writes
from tests.tui.test_tui_flow import SIZE, sign_in
from tests.support.tui import table_rows, text_of, wait_for, wait_screen
from wizard.session import SimOptions

pytestmark = pytest.mark.timeout(240)


def _app_without_provider(tmp_path: Path, answers: Path) -> WizardApp:
    """The wizard on a simulated subscription where Microsoft.ContainerService is not registered."""
    unregister_provider(tmp_path, "Microsoft.ContainerService")
    return WizardApp(sim=SimOptions(speed=3000.0, state_file=tmp_path / "sim.json"), answers_path=answers)


async def _review(pilot, app: WizardApp) -> Any:
    """Signed in, every step answered by the file: the review with its plan and preflight."""
    await sign_in(pilot)
    review = await wait_screen(pilot, "ReviewScreen")
    await wait_for(pilot, lambda: app.state.plan is not None and not review.query_one("#next").disabled,
                   timeout=60, what="plan and preflight")
    return review


async def _start_and_wait(pilot) -> Any:
    """Start, once; the run screen when the run has ended (done, failed or stopped)."""
    await pilot.press("ctrl+n")
    run = await wait_screen(pilot, "RunScreen")
    await wait_for(pilot, lambda: run.status in ("done", "failed", "stopped"), timeout=180, what="the run")
    return run


async def test_start_registers_the_provider_then_runs_the_rest_in_the_same_run(tmp_path: Path) -> None:
    app = _app_without_provider(tmp_path, copy_example(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        review = await _review(pilot, app)
        first = app.state.plan
        assert first.awaits_provider and not any(s.id == "cluster" for s in first.steps)
        assert "Then, in the same run: once the provider is registered" in text_of(review, "#plan")
        run = await _start_and_wait(pilot)
        rows = {r[0]: r for r in table_rows(run, "#steps")}
        assert run.status == "done", (text_of(run, "#run-status"), rows)
        assert rows["provider"][1] == "done"  # the first phase's row stays done
        assert rows["cluster"][1] == "done" and rows["cluster"][2] == "Succeeded"  # planned after it, same run
        assert app.state.plan is run.plan and any(s.id == "cluster" for s in run.plan.steps)
        assert app.state.kubeconfig
    reqs = writes(tmp_path)
    assert len(accepted(reqs, "/providers/microsoft.containerservice/register", "POST")) == 1
    assert len(accepted(reqs, "/managedclusters/aks-ai")) == 1


async def test_when_the_rest_cannot_start_the_run_stops_and_says_why(tmp_path: Path) -> None:
    """A version Azure does not offer shows only once the provider can be read: the run stops there, names it and
    offers the review, and nothing after the provider is written."""
    answers = copy_example(tmp_path)
    answers.write_text(answers.read_text().replace('kubernetes_version: "1.34"', 'kubernetes_version: "1.34.99"'))
    app = _app_without_provider(tmp_path, answers)
    async with app.run_test(size=SIZE) as pilot:
        await _review(pilot, app)
        run = await _start_and_wait(pilot)
        assert run.status == "stopped"
        status = text_of(run, "#run-status")
        assert "the rest of the plan cannot start" in status and "1.34.99" in status, status
        assert not run.query_one("#to-review").disabled and not run.running
        assert app.state.plan is not None and app.state.plan.problems
    reqs = writes(tmp_path)
    assert len(accepted(reqs, "/providers/microsoft.containerservice/register", "POST")) == 1
    assert not accepted(reqs, "/managedclusters/aks-ai")


async def test_the_sign_in_step_offers_the_clouds_az_cloud_register_recorded(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "clouds.config").write_text("[MyStack]\nendpoint_resource_manager = https://management.stack.local/\n"
                                            "endpoint_active_directory = https://login.stack.local/adfs\n")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))
    app = WizardApp(sim=SimOptions(speed=3000.0), answers_path=tmp_path / "answers.yaml")
    async with app.run_test(size=SIZE) as pilot:
        welcome = await wait_screen(pilot, "WelcomeScreen")
        clouds = welcome.query_one("#cloud")
        labels = [str(clouds.get_option_at_index(i).prompt) for i in range(clouds.option_count)]
        assert "MyStack (az cloud register: https://management.stack.local/)" in labels, labels
        clouds.select_value("MyStack")
        welcome.store()
        assert app.state.draft.get("azure.cloud") == "MyStack"  # saved by name, as azure.cloud takes it

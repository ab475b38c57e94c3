"""The wizard's fleet view (screens/fleet.py) against the embedded simulator, with the real engine and SDK clients:
an answers file with `fleet:` is planned member by member, applied from the screen with a row per member that
reaches done, and ends with the members x requirements verification table; the CLI then finds nothing to do."""
from __future__ import annotations

from pathlib import Path

import pytest

from screens.app import WizardApp
from tests.support.cli import accepted, run, writes
from tests.integration.test_fleet import SMALL_GPU, granted
from tests.support.tui import held, table_rows, text_of, wait_for, wait_screen
from wizard.session import SimOptions

SIZE = (110, 40)
# every step answered (the wizard goes straight to the fleet view), Kueue off and read-only to keep it short
FLEET = ("version: 1\nazure: {subscription: Simulated Subscription, location: eastus2}\n"
         "resource_group: {name: rg-aks-ai}\n"
         "cluster: {name: aks-ai, kubernetes_version: '1.34', istio: {enabled: true}, gateway_api: true}\n"
         "features: auto\n" + SMALL_GPU + "kueue: {install: false}\n"
         "verify: {probes: false, require_conformance: false}\nfleet: {count: 3, cluster_name: 'aks-ai-{n:02d}'}\n")


@pytest.mark.timeout(300)
async def test_fleet_file_is_planned_applied_a_row_per_member_and_verified_in_the_wizard(tmp_path: Path) -> None:
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(FLEET)
    app = WizardApp(sim=SimOptions(speed=3000.0, state_file=tmp_path / "sim.json"), answers_path=answers)
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, "WelcomeScreen")
        await pilot.press("ctrl+n")
        screen = await wait_screen(pilot, "FleetScreen", timeout=60)  # every step answered by the file
        await wait_for(pilot, lambda: screen.status == "planned", timeout=60, what="the fleet's plan")
        plan = text_of(screen, "#plan-text")
        assert "Fleet of 3 clusters:" in plan and "aks-ai-03 (rg-aks-ai-03, eastus2" in plan
        assert "vCPU quota" in plan, "the fleet preflight is shown before anything is written"
        rows = table_rows(screen, "#members")
        assert [r[0] for r in rows] == ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
        assert {r[1] for r in rows} == {"waiting"}
        assert not writes(tmp_path), "planning the fleet writes nothing"

        assert screen.preview.ok, plan
        await pilot.press("ctrl+n")  # apply the fleet
        # the simulated fleet can be done within a second: wait for the run to have started, then ended
        await wait_for(pilot, lambda: screen.status != "planned", what="the fleet started")
        await wait_for(pilot, lambda: not screen.running, timeout=200, what="the fleet's end")
        assert all(r[2] for r in table_rows(screen, "#members")), "each row shows the member's last step"
        rows = table_rows(screen, "#members")
        assert [r[1] for r in rows] == ["done", "done", "done"], rows
        table = await wait_for(pilot, lambda: screen.query_one("#verification").display and
                               table_rows(screen, "#verification"), timeout=120, what="the verification table")
        assert [r[0] for r in table] == ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
        assert all(r[1] == "pass" for r in table), "dra_support is proven on every member"
        assert all(r[-1] == "NOT all pass" for r in table), "no Kueue: gang scheduling cannot pass"
        assert "not every member passed every MUST requirement" in text_of(screen, "#fleet-status")
    # the wizard's journals are the CLI's: a CLI re-run of the same file has nothing left to write
    before = len(writes(tmp_path))
    assert run(tmp_path, "apply", str(answers)) == 0
    assert len(writes(tmp_path)) == before



@pytest.mark.timeout(300)
async def test_fleet_run_is_cancelled_from_the_view_after_consent_and_the_cli_resumes_it(tmp_path: Path) -> None:
    """Escape while the members' creates run asks first (what is in flight, member by member); stopping ends every
    member as cancelled without a second write, and the same answers resume to done with no PUT sent twice."""
    granted(tmp_path, standardNCASv3_T4Family=1000)
    answers = tmp_path / "fleet.yaml"
    answers.write_text(FLEET)
    app = WizardApp(sim=SimOptions(speed=3000.0, state_file=tmp_path / "sim.json"), answers_path=answers)
    names = ["aks-ai-01", "aks-ai-02", "aks-ai-03"]
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, "WelcomeScreen")
        await pilot.press("ctrl+n")
        screen = await wait_screen(pilot, "FleetScreen", timeout=60)
        await wait_for(pilot, lambda: screen.status == "planned", timeout=60, what="the fleet's plan")
        assert screen.query_one("#cancel").disabled, "nothing to cancel before the fleet runs"
        with held(app) as sim:  # Azure (simulated) accepts the writes but finishes nothing until released

            def creating() -> bool:
                with sim.world.lock:
                    creates = any(op["cluster"] for op in sim.world.operations.values())
                if not creates:  # the flags and the provider, once for the fleet, before any member
                    sim.complete_pending()
                    return False
                return all(screen.steps.get(n) == "cluster" for n in names)  # each held in its create

            await pilot.press("ctrl+n")
            await wait_for(pilot, creating, timeout=60, what="every member's cluster create in flight")
            await pilot.press("escape")
            modal = await wait_screen(pilot, "ConfirmModal")
            assert all(f"{n}: cluster" in modal.body for n in names), modal.body
            await pilot.press("escape")  # "Keep running" is the default: the fleet goes on
            await wait_screen(pilot, "FleetScreen")
            assert screen.running
            await pilot.press("escape")
            await wait_screen(pilot, "ConfirmModal")
            await pilot.click("#yes")
            await wait_for(pilot, lambda: not screen.running, timeout=60, what="the fleet stopped")
            assert [r[1] for r in table_rows(screen, "#members")] == ["cancelled"] * 3
            assert "Start again with the same answers to resume" in text_of(screen, "#fleet-status")
            assert not screen.query_one("#back").disabled and screen.query_one("#cancel").disabled
            puts = len(accepted(writes(tmp_path), "/managedclusters/aks-ai-01"))
            assert puts == 1, "the create went out once"
    assert run(tmp_path, "apply", str(answers)) == 0  # re-attaches to the accepted creates, writes what is left
    assert len(accepted(writes(tmp_path), "/managedclusters/aks-ai-01")) == 1, "no cluster PUT sent twice"


FIXED_PLAN = """Fleet of 3 clusters:
  aks-ai-01 (rg-aks-ai-01, eastus2, GPU Standard_NC4as_T4_v3): 6 step(s) write
  aks-ai-02 (rg-aks-ai-02, eastus2, GPU Standard_NC4as_T4_v3): 6 step(s) write
  aks-ai-03 (rg-aks-ai-03, westus3, GPU Standard_NC4as_T4_v3): 6 step(s) write

[ok] vCPU quota of the fleet: standardNCASv3_T4Family in eastus2: 2 x 8 = 16 of 1000"""
FIXED_EVENTS = (
    ("aks-ai-01", "progress", "cluster", "InProgress", 184.0, 480.0),
    ("aks-ai-01", "done", "gpu-metrics", "Succeeded", 12.0, 60.0),
    ("aks-ai-02", "done", "gpu-metrics", "Succeeded", 14.0, 60.0),
    ("aks-ai-03", "done", "gpu-stack [v0.17]", "Installed", 95.0, 120.0),
)
FIXED_TABLE = [("member", "dra_support", "ai_inference", "gang_scheduling", "MUST"),
               ("aks-ai-01", "pass", "pass", "pass", "all pass"),
               ("aks-ai-02", "pass", "pass", "pass", "all pass"),
               ("aks-ai-03", "-", "-", "-", "not verified: the API server of aks-ai-03 does not answer")]


def test_fleet_view_snapshot(snap_compare) -> None:
    """Fixed messages (no Azure): the plan, a row per member, and the table with a member that could not be read
    (text with brackets shown as it is, never as markup)."""
    from types import SimpleNamespace

    from screens.fleet import FleetScreen
    from screens.state import Draft
    from wizard.answers import parse_answers
    from wizard.events import Event
    from wizard.fleet import members
    from wizard.fleet_apply import FleetResult, MemberResult
    from wizard.fleet import FleetPreview

    answers = parse_answers(FLEET, "fleet.yaml")
    app = WizardApp(sim=SimOptions(speed=3000.0), start=False)
    app.state.draft = Draft(answers.model_dump(mode="json"))

    async def run_before(pilot) -> None:
        screen = FleetScreen(app.state, start=False)
        await app.push_screen(screen)
        await pilot.pause()
        plans = [SimpleNamespace(answers=m.answers, ok=True) for m in members(answers)]
        screen._previewed(FleetScreen.Previewed(FleetPreview(plans, SimpleNamespace(ok=True), FIXED_PLAN)))
        for member, kind, step, status, elapsed, typical in FIXED_EVENTS:
            screen._member_event(FleetScreen.MemberEvent(Event(kind, step, "", status, elapsed, typical,
                                                               data={"member": member})))
        screen._finished(FleetScreen.Finished(FleetResult(None, [MemberResult(f"aks-ai-0{n}", "done")
                                                                 for n in (1, 2, 3)])))
        screen._verified(FleetScreen.Verified(FIXED_TABLE))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 34), run_before=run_before)

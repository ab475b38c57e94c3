"""Pilot tests of what a walk through the wizard found (issue 16): defaults that conform, values from a file
that are never changed silently, no wrap-around to a preview, states after a cancel or a failure, the
local lock, per-session files, small terminals, keys that fit the key bar."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Select, Static

from screens.choice import ChoiceList
from screens.state import WizardState
from screens.widgets import ErrorPanel, Field, KeyBar
from tests.tui.test_tui_snapshots import DRAFT, fixed_plan, link, make_app, run_events, settle  # noqa: F401 - fixture
from tests.support.tui import wait_for, wait_screen

pytestmark = pytest.mark.timeout(120)
SIZE = (80, 24)


async def show(app: Any, pilot: Any, step: str) -> Any:
    await app.push_screen(app.make_screen(step))
    await settle(pilot)
    return app.screen


async def test_gpu_defaults_conform_and_a_switch_that_breaks_a_must_says_so(link: Any) -> None:
    app = make_app(link, {k: v for k, v in DRAFT.items() if k != "gpu_pool"})
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "gpu")
        assert screen.query_one("#gpu-on", Checkbox).value and screen.query_one("#gpu-autoscale", Checkbox).value
        assert not screen.query_one("#must-gpu-autoscale", Static).display
        screen.query_one("#gpu-autoscale", Checkbox).value = False
        await pilot.pause()
        warning = screen.query_one("#must-gpu-autoscale", Static)
        assert warning.display and "cluster_autoscaling" in str(warning.content)
        screen.query_one("#gpu-on", Checkbox).value = False
        await pilot.pause()
        assert "accelerator_metrics" in str(screen.query_one("#must-gpu-on", Static).content)


async def test_addon_switched_off_names_the_must_it_breaks(link: Any) -> None:
    app = make_app(link)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "addons")
        assert not any(w.display for w in screen.query(".must-warning"))
        screen.query_one("#addon-install", Checkbox).value = False
        await pilot.pause()
        assert "gang_scheduling" in str(screen.query_one("#must-addon-install", Static).content)


async def test_a_version_the_file_asks_for_is_not_changed_silently_and_down_never_wraps(link: Any) -> None:
    app = make_app(link, {**DRAFT, "cluster": {**DRAFT["cluster"], "kubernetes_version": "1.33"}})
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "cluster")
        versions = screen.query_one("#version", ChoiceList)
        assert versions.value == "1.34"  # the default, not the newest (a preview)
        error = screen.query_one("#f-cluster-kubernetes_version", Field).error
        assert "The answers ask for 1.33" in error and "below 1.34" in error
        versions.focus()
        await pilot.press("down", "down", "down")
        assert versions.value == "1.34"  # 1.33 and 1.32 can't be chosen; no wrap-around to 1.36 preview
        await pilot.press("up", "up")
        assert versions.value == "1.36"
        assert "preview version" in screen.query_one("#f-cluster-kubernetes_version", Field).error


async def test_cluster_name_default_is_a_value(link: Any) -> None:
    data = {**DRAFT, "cluster": {k: v for k, v in DRAFT["cluster"].items() if k != "name"}}
    app = make_app(link, data)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "cluster")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.is_current is False and app.state.draft.get("cluster.name") == "aks-ai"


async def test_location_has_no_blank_entry_and_a_valid_pick_clears_the_error(link: Any) -> None:
    app = make_app(link, {**DRAFT, "azure": {**DRAFT["azure"], "location": "atlantis"}})
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "location")
        select = screen.query_one("#location", Select)
        assert "atlantis" in screen.query_one("#f-azure-location", Field).error
        assert select.value == "eastus2" and not select._allow_blank
        select.value = "westus3"
        await pilot.pause()
        assert screen.query_one("#f-azure-location", Field).error == ""


async def test_unknown_key_is_offered_to_drop_and_review_goes_on(link: Any, tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(link, {**DRAFT, "azure": {**DRAFT["azure"], "colour": "blue"}})
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "review")
        assert screen.query_one("#next", Button).disabled and not screen.query_one("#plan").display
        await pilot.click(".drop")
        await settle(pilot)
        assert "colour" not in app.state.draft.data["azure"]
        await wait_for(pilot, lambda: not screen.query_one("#next", Button).disabled, what="Start enabled")


async def test_palette_quit_mid_run_asks_first() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_events(app, pilot, failed=False)
        screen.running = True
        app.action_quit()  # what the palette's built-in "Quit the application" calls
        modal = await wait_screen(pilot, "QuitModal")
        assert "In flight" in str(modal.query_one(".dialog-warning", Static).content)
        assert "--sim-state" in str(modal.query_one(".dialog-warning", Static).content)
        assert app.is_running


async def test_after_cancel_no_row_runs_and_verify_is_dimmed() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_events(app, pilot, failed=False)
        assert screen.step_state["cluster"] == "running"
        screen.finish("cancelled", None, None, None)
        await pilot.pause()
        assert "running" not in screen.step_state.values()
        assert screen.step_state["cluster"] == "cancelled" and screen.step_state["kubeconfig"] == "blocked"
        assert screen.check_action("continue", ()) is None  # shown dimmed, not a key that does nothing
        assert "^n Verify" in screen.query_one(KeyBar).render().plain


async def test_failed_run_blocks_dependents_and_keeps_the_fix_on_screen() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_events(app, pilot, failed=True)
        rows = screen.query_one("#steps")
        assert screen.step_state["kubeconfig"] == "blocked"
        assert str(rows.get_cell("kubeconfig", "Azure status")) == "by cluster"
        fix = screen.query_one("#fix", Button)
        assert fix.has_focus and fix.region.bottom <= app.size.height and fix.region.y > 0


async def test_a_local_lock_is_not_called_an_azure_refusal(tmp_path: Path) -> None:
    from wizard.interactive import failure_of
    from wizard.journal import JournalLocked

    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await run_events(app, pilot, failed=False)
        failure = failure_of(JournalLocked(tmp_path / "x.journal.jsonl", {"pid": 4242, "started": "now"}))
        screen.finish("failed", None, failure, None)
        await pilot.pause()
        panel = screen.query_one(ErrorPanel)
        head = str(panel.query_one(".error-title", Static).content)
        assert head == "Could not start: these answers are in use" and "Azure" not in head
        assert "step ?" not in str(screen.query_one("#run-status", Static).content)


def test_sessions_without_an_answers_file_never_share_files(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AKS_AI_WIZARD_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    first, second = WizardState().save_path, WizardState().save_path
    assert first != second and first.parent.parent == tmp_path / "home" / "runs"
    assert first.name == "aks-ai-wizard.yaml" and not first.exists()  # nothing written until asked


async def test_too_small_terminal_says_so_and_goes_away() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(app.make_screen("welcome"))
        await pilot.pause()
        await pilot.resize_terminal(50, 16)
        notice = await wait_screen(pilot, "TooSmallModal")
        assert "Terminal too small: 50x16" in str(notice.query_one(Static).content)
        await pilot.resize_terminal(60, 20)
        await wait_screen(pilot, "WelcomeScreen")


async def test_key_bar_keeps_the_palette_key_at_80_columns() -> None:
    from screens.verify import VerifyScreen

    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(VerifyScreen(app.state, start=False))
        await pilot.pause()
        line = app.screen.query_one(KeyBar).render().plain
        assert len(line) <= 80 and line.rstrip().endswith("^p palette") and "^e Export report" in line


async def test_help_lists_every_key_of_the_current_screen() -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        await run_events(app, pilot, failed=False)
        await pilot.press("f1")
        modal = await wait_screen(pilot, "HelpModal")
        lines = [str(w.content) for w in modal.query(".help-key")]
        assert any("Cancel / back" in line for line in lines)
        assert any("Verify" in line and "(not now)" in line for line in lines)  # not until the run is done
        assert any("Quit" in line for line in lines) and any("Save a screenshot" in line for line in lines)
        assert "12/13  Run" in str(modal.query_one(".dialog-title", Static).content)
        await pilot.press("escape")
        await wait_screen(pilot, "RunScreen")


async def test_screenshot_goes_beside_the_answers_file(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))  # no ~/Downloads anywhere
    app = make_app(None)
    app.state.answers_path = tmp_path / "answers" / "mine.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(app.make_screen("welcome"))
        await pilot.pause()
        await pilot.press("f12")
        ask = await wait_screen(pilot, "PathModal")
        assert ask.query_one("#path").value == str(tmp_path / "answers")
        await pilot.press("enter")
        await wait_for(pilot, lambda: list((tmp_path / "answers").glob("*.svg")), what="screenshot file")
        svg = next((tmp_path / "answers").glob("*.svg")).read_text()
        assert "Sign" in svg and app.state.outputs["screenshot"].parent == tmp_path / "answers"


async def test_gpu_catalog_picks_a_size_and_charts_cost_over_the_node_range(link: Any) -> None:
    from textual.widgets import DataTable, Input

    app = make_app(link)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "gpu")
        table = screen.query_one("#gpu-catalog", DataTable)
        await wait_for(pilot, lambda: table.row_count, what="GPU catalog")
        t4 = [str(c) for c in table.get_row("Standard_NC4as_T4_v3")]
        assert t4[1] == "1x T4" and t4[2] == "16"  # GPU memory beside model and count
        chart = str(screen.query_one("#gpu-chart", Static).content)
        assert "1-3 node(s)" in chart and "$0.53-1.58" in chart  # min to max of the pool's autoscale range
        table.focus()
        a100 = "Standard_NC24ads_A100_v4"
        hourly = float(str(table.get_row(a100)[5]).replace(",", ""))  # $/h as the table shows it
        table.move_cursor(row=table.get_row_index(a100))
        await pilot.press("enter")
        assert screen.query_one("#gpu-size", Input).value == a100
        screen.query_one("#gpu-max", Input).value = "5"
        await pilot.pause()
        chart = str(screen.query_one("#gpu-chart", Static).content)
        row = next(line for line in chart.splitlines() if line.startswith(">"))  # the chosen size, marked
        low, high = (float(x) for x in row.rsplit("$", 1)[1].replace(",", "").split("-"))
        assert "1-5 node(s)" in chart and row.startswith(">NC24ads_A100_v4"), chart
        assert low == hourly and abs(high - 5 * low) < 0.05, row  # 1 to 5 nodes (the table rounds the price)


async def test_page_down_scrolls_the_review_from_the_start_button_and_arrows_move_between_dialog_buttons(
        link: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(link)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "review")
        await wait_for(pilot, lambda: not screen.query_one("#next", Button).disabled, what="plan and preflight")
        assert screen.query_one("#next", Button).has_focus
        body = screen.query_one("#body")
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("ctrl+q")
        modal = await wait_screen(pilot, "QuitModal")
        assert modal.query_one("#save", Button).has_focus
        await pilot.press("right")
        assert modal.query_one("#quit", Button).has_focus
        await pilot.press("left")
        assert modal.query_one("#save", Button).has_focus


async def test_next_pressed_again_while_signing_in_signs_in_once(tmp_path: Path) -> None:
    from screens.app import WizardApp
    from wizard.session import SimOptions

    app = WizardApp(sim=SimOptions(speed=3000.0), answers_path=tmp_path / "a.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await wait_screen(pilot, "WelcomeScreen")
        welcome = app.screen
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")  # the later presses reach later steps, or nothing
        await wait_for(pilot, lambda: app.screen is not welcome, what="signed in")
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None and welcome.left
        assert type(app.screen).__name__ in ("SubscriptionScreen", "LocationScreen", "ClusterScreen")

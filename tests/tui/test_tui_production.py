"""Pilot tests of the production steps (issue 19): the network step (own subnet checked live by preflight's rule,
outbound type, authorized ranges, private API server and what it means), the identity step (Entra ID with Azure
RBAC, admin groups as GUIDs, local accounts, workload identity with the OIDC issuer, the role to verify), GPU
pools as a list (add, edit, Spot, remove), all driven by keys and read back from the saved answers file and the
review; and examples/production.yaml walked through every step and applied in simulation."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static

from screens.widgets import Field
from tests.integration.test_production import SUBNETS, production
from tests.tui.test_tui_snapshots import DRAFT, link, make_app, settle  # noqa: F401 - fixture
from tests.support.tui import table_rows, text_of, type_into, wait_for, wait_screen
from wizard.answers import answers_from_dict, load_answers

pytestmark = pytest.mark.timeout(180)
SIZE = (100, 40)
GROUP = "4b8f3c2e-9d1a-4f6b-8e7c-2a5d9f0b1c3e"


async def show(app: Any, pilot: Any, step: str) -> Any:
    await app.push_screen(app.make_screen(step))
    await settle(pilot)
    return app.screen


async def toggle(pilot: Any, selector: str) -> None:
    """A switch by keys: focus it, then space (what a user does after Tab)."""
    pilot.app.screen.query_one(selector, Checkbox).focus()
    await pilot.press("space")
    await settle(pilot)


async def next_step(pilot: Any, name: str) -> Any:
    await pilot.press("ctrl+n")
    return await wait_screen(pilot, name)


def saved(app: Any, tmp_path: Path) -> dict[str, Any]:
    """Save the draft the way the app does (Ctrl+S's path) and read the file back."""
    path = tmp_path / "saved.yaml"
    assert app.save_answers(path, allow_partial=True) is None
    return yaml.safe_load(path.read_text())


async def test_network_step_checks_the_subnet_live_and_refuses_one_too_small(link: Any, tmp_path: Path) -> None:
    app = make_app(link, DRAFT)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "network")
        assert screen.query_one("#net-plugin", Select).value == "overlay"  # Azure CNI Overlay is the default
        assert not screen.query_one("#f-cluster-network-vnet_subnet_id").display
        await toggle(pilot, "#net-own")
        # Azure CNI with pods on the subnet needs 31 addresses per node: a /28 is far too small
        sel = screen.query_one("#net-plugin", Select)
        sel.focus()
        sel.value = "azure"
        await type_into(pilot, "#net-subnet", SUBNETS + "small", keys=True)
        await settle(pilot)
        check = text_of(screen, "#subnet-check")
        assert check.startswith("FAIL") and "at least a /" in check, check
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert type(app.screen).__name__ == "NetworkScreen"  # refused, the reason under the subnet field
        assert "Short by" in screen.query_one("#f-cluster-network-vnet_subnet_id", Field).error
        # a delegated subnet: refused by the same rule preflight applies
        await type_into(pilot, "#net-subnet", SUBNETS + "webapps")
        await settle(pilot)
        assert "delegated to Microsoft.Web" in text_of(screen, "#subnet-check")
        # the hub's node subnet with overlay fits
        sel.value = "overlay"
        await type_into(pilot, "#net-subnet", SUBNETS + "aks-nodes")
        await settle(pilot)
        assert text_of(screen, "#subnet-check").startswith("ok"), text_of(screen, "#subnet-check")
        # authorized ranges: the model's CIDR rule as typed
        await type_into(pilot, "#net-ranges", "10.1.2.3/16", keys=True)
        assert "host bits" in screen.query_one("#f-cluster-network-api_server-authorized_ip_ranges", Field).error
        await type_into(pilot, "#net-ranges", "203.0.113.0/24, 198.51.100.0/24", keys=True)
        await settle(pilot)
        assert "203.0.113.0/24" in text_of(screen, "#private-note")  # this machine must be in them
        # a private API server with ranges is refused by the model, under the field
        await toggle(pilot, "#net-private")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert type(app.screen).__name__ == "NetworkScreen"
        assert "private" in screen.query_one("#f-cluster-network-api_server-authorized_ip_ranges", Field).error
        await type_into(pilot, "#net-ranges", "")
        await settle(pilot)
        note = text_of(screen, "#private-note")
        assert "no public endpoint" in note and "az aks command invoke" in note  # what it means for verify
        outbound = screen.query_one("#net-outbound", Select)
        outbound.value = "userAssignedNATGateway"  # the hub subnet has no NAT gateway: preflight's rule says so
        await settle(pilot)
        assert "NAT gateway" in text_of(screen, "#subnet-check")
        outbound.value = "loadBalancer"
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is not screen  # accepted
    net = saved(app, tmp_path)["cluster"]["network"]
    assert net["vnet_subnet_id"] == SUBNETS + "aks-nodes" and net["plugin"] == "azure"
    assert net["plugin_mode"] == "overlay" and net["outbound_type"] == "loadBalancer"
    assert net["api_server"] == {"private": True, "authorized_ip_ranges": []}


async def test_identity_step_by_keys_saves_entra_id_and_names_the_role_to_verify(link: Any, tmp_path: Path) -> None:
    app = make_app(link, DRAFT)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "identity")
        assert not screen.query_one("#entra-fields").display
        assert not screen.query_one("#access-note", Static).display  # no Entra ID: nothing to say
        await toggle(pilot, "#id-entra")
        assert screen.query_one("#entra-fields").display
        await type_into(pilot, "#id-groups", "not-a-guid", keys=True)
        field = screen.query_one("#f-cluster-access-admin_group_object_ids", Field)
        assert "GUID" in field.error
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert type(app.screen).__name__ == "IdentityScreen"  # refused while a group is not a GUID
        await type_into(pilot, "#id-groups", f"{GROUP}, {GROUP}", keys=True)
        assert "more than once" in field.error or "repeat" in field.error or "twice" in field.error, field.error
        await type_into(pilot, "#id-groups", GROUP, keys=True)
        assert not field.error
        await toggle(pilot, "#id-nolocal")
        await toggle(pilot, "#id-wi")
        assert screen.query_one("#id-oidc", Checkbox).value  # workload identity turned the OIDC issuer on
        note = text_of(screen, "#access-note")
        assert "Azure Kubernetes Service RBAC Cluster Admin" in note and "Local accounts are disabled" in note
        assert "az role assignment create" in note and "managedClusters/aks-snap" in note
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is not screen
    cluster = saved(app, tmp_path)["cluster"]
    access = cluster["access"]
    assert access["entra_id"] is True and access["azure_rbac"] is True and access["local_accounts"] is False
    assert access["admin_group_object_ids"] == [GROUP] and access["tenant_id"] is None
    assert cluster["oidc_issuer"] is True and cluster["workload_identity"] is True


async def test_gpu_pools_as_a_list_add_edit_spot_and_remove(link: Any, tmp_path: Path) -> None:
    app = make_app(link, DRAFT)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "gpu")
        pools = screen.query_one("#gpu-pools", DataTable)
        assert table_rows(screen, "#gpu-pools") == [["gpunp", "NC4as_T4_v3", "1-3 (autoscaled)", "Regular"]]
        assert screen.query_one("#pool-remove", Button).disabled  # the last pool stays (switch off for none)
        screen.query_one("#pool-add", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert pools.row_count == 2 and pools.cursor_row == 1
        assert screen.query_one("#gpu-name", Input).value == "gpunp2"  # the new pool is in the editor
        await type_into(pilot, "#gpu-name", "a100spot", keys=True)
        await type_into(pilot, "#gpu-size", "Standard_NC24ads_A100_v4")
        await type_into(pilot, "#gpu-min", "0", keys=True)
        await type_into(pilot, "#gpu-count", "0", keys=True)
        await type_into(pilot, "#gpu-max", "2", keys=True)
        await toggle(pilot, "#gpu-spot")
        assert screen.query_one("#spot-fields").display
        screen.query_one("#gpu-eviction", Select).value = "Deallocate"
        await type_into(pilot, "#gpu-max-price", "0.5", keys=True)
        await settle(pilot)
        assert table_rows(screen, "#gpu-pools")[1] == ["a100spot", "NC24ads_A100_v4", "0-2 (autoscaled)", "Spot"]
        costs = text_of(screen, "#gpu-costs")
        assert "a100spot: 0-2 x NC24ads_A100_v4 Spot" in costs and "low-priority" in costs and "All pools" in costs
        assert "Spot price" in text_of(screen, "#gpu-chart")  # the chart of a Spot pool uses Spot prices
        # a name the first pool has: the model refuses it, the list shows which pool
        await type_into(pilot, "#gpu-name", "gpunp", keys=True)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert type(app.screen).__name__ == "GpuScreen"
        assert screen.query_one("#f-gpu_pool-name", Field).error or "gpunp" in text_of(screen, "#step-errors")
        await type_into(pilot, "#gpu-name", "a100spot", keys=True)
        # back to the first pool: the editor shows it, the second keeps what was typed
        pools.focus()
        await pilot.press("up")
        await settle(pilot)
        assert screen.query_one("#gpu-name", Input).value == "gpunp"
        assert not screen.query_one("#gpu-spot", Checkbox).value
        await pilot.press("down")
        await settle(pilot)
        assert screen.query_one("#gpu-max-price", Input).value == "0.5"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen is not screen
    data = saved(app, tmp_path)
    assert data.get("gpu_pool") is None
    answers = answers_from_dict(data)  # a valid answers file
    first, second = (p.model_dump() for p in answers.gpu_pools)
    assert first == answers_from_dict({**DRAFT}).gpu_pool.model_dump()  # as it was
    assert {k: second[k] for k in ("name", "vm_size", "count", "autoscale", "priority", "eviction_policy",
                                   "spot_max_price")} == {
        "name": "a100spot", "vm_size": "Standard_NC24ads_A100_v4", "count": 0, "autoscale": {"min": 0, "max": 2},
        "priority": "Spot", "eviction_policy": "Deallocate", "spot_max_price": 0.5}
    # the draft names only what differs from the defaults (a file keeps its shape)
    assert app.state.draft.get("gpu_pools")[1] == {
        "name": "a100spot", "vm_size": "Standard_NC24ads_A100_v4", "count": 0, "autoscale": {"min": 0, "max": 2},
        "taints": ["sku=gpu:NoSchedule"], "labels": {}, "managed_gpu": False, "priority": "Spot",
        "eviction_policy": "Deallocate", "spot_max_price": 0.5}


async def test_removing_a_pool_back_to_one_keeps_the_single_key(link: Any, tmp_path: Path) -> None:
    app = make_app(link, DRAFT)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "gpu")
        screen.query_one("#pool-add", Button).press()
        await settle(pilot)
        assert screen.query_one("#gpu-pools", DataTable).row_count == 2
        screen.query_one("#pool-remove", Button).press()
        await settle(pilot)
        assert table_rows(screen, "#gpu-pools") == [["gpunp", "NC4as_T4_v3", "1-3 (autoscaled)", "Regular"]]
        assert "removed" in text_of(screen, "#nav-status")
        await pilot.press("ctrl+n")
        await settle(pilot)
    assert app.state.draft.get("gpu_pool") == DRAFT["gpu_pool"] and not app.state.draft.has("gpu_pools")
    data = saved(app, tmp_path)
    assert data["gpu_pool"]["name"] == "gpunp" and not data.get("gpu_pools")


@pytest.mark.timeout(400)
async def test_production_example_walked_through_every_step_to_review_and_applied(tmp_path: Path) -> None:
    """Prefilled with examples/production.yaml the wizard lands on review; Back shows each new step with the
    file's values, Next through all of them changes nothing, review summarises them, Start applies in simulation
    and the file stays byte for byte."""
    from tests.tui.test_tui_flow import make_app as flow_app
    from tests.tui.test_tui_flow import sign_in

    answers = production(tmp_path)
    before = answers.read_bytes()
    app = flow_app(tmp_path, answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        review = await wait_screen(pilot, "ReviewScreen")
        order = ["AddonsScreen", "GpuScreen", "FeaturesScreen", "MeshScreen", "IdentityScreen", "NetworkScreen",
                 "ClusterScreen"]
        for name in order:  # Back through every form step
            await pilot.press("escape")
            screen = await wait_screen(pilot, name)
            await settle(pilot)
            if name == "GpuScreen":
                rows = table_rows(screen, "#gpu-pools")
                assert [r[0] for r in rows] == ["t4infer", "a100spot"] and rows[1][3] == "Spot"
            elif name == "IdentityScreen":
                assert screen.query_one("#id-entra", Checkbox).value and screen.query_one("#id-nolocal", Checkbox).value
                assert screen.query_one("#id-groups", Input).value == GROUP
                assert "RBAC Cluster Admin" in text_of(screen, "#access-note")
            elif name == "NetworkScreen":
                assert screen.query_one("#net-private", Checkbox).value
                assert screen.query_one("#net-subnet", Input).value.endswith("/subnets/aks-nodes")
                await wait_for(pilot, lambda s=screen: text_of(s, "#subnet-check").startswith("ok"), what="subnet ok")
        for name in reversed(order[:-1]):  # and Next through every one of them again
            await pilot.press("ctrl+n")
            screen = await wait_screen(pilot, name)
            await settle(pilot)
        await pilot.press("ctrl+n")
        review = await wait_screen(pilot, "ReviewScreen")
        await wait_for(pilot, lambda: app.state.plan is not None and not review.query_one("#next").disabled,
                       timeout=60, what="plan and preflight")
        summary = text_of(review, "#settings")
        assert "Azure CNI Overlay in your subnet aks-nodes (rg-network/vnet-ai)" in summary
        assert "private API server" in summary and "Entra ID + Azure RBAC, 1 admin group" in summary
        assert "local accounts disabled" in summary and "workload identity" in summary
        assert "GPU pool a100spot: NC24ads_A100_v4, 0-2 nodes (autoscaled), Spot (Delete on eviction" in summary
        assert load_answers(answers) == app.state.draft.to_answers()  # the walk changed nothing
        await pilot.press("ctrl+n")  # Start: saves (the file already holds these answers), then runs
        run = await wait_screen(pilot, "RunScreen")
        await wait_for(pilot, lambda: run.status == "done", timeout=300, what="run done")
        sim = app.state.link.simulator
        [rec] = [c for c in sim.world.clusters.values() if c["rg"] == "rg-aks-prod"]
        props = rec["body"]["properties"]
        assert props["apiServerAccessProfile"]["enablePrivateCluster"] is True
        assert props["aadProfile"]["enableAzureRBAC"] is True and props["disableLocalAccounts"] is True
        pools = {p["name"]: p["properties"] for p in rec["pools"].values()}
        assert {name: p.get("scaleSetPriority", "Regular") for name, p in pools.items()} == \
            {"system": "Regular", "t4infer": "Regular", "a100spot": "Spot"}
        assert pools["a100spot"]["minCount"] == 0 and pools["a100spot"]["scaleSetEvictionPolicy"] == "Delete"
    assert answers.read_bytes() == before


async def test_switching_off_listed_pools_says_which_must_breaks_and_on_again_brings_every_pool_back(
        link: Any) -> None:
    from tests.tui.test_tui_snapshots import production_draft

    draft = production_draft()
    app = make_app(link, draft)
    async with app.run_test(size=SIZE) as pilot:
        screen = await show(app, pilot, "gpu")
        rows = table_rows(screen, "#gpu-pools")
        assert len(rows) == len(draft["gpu_pools"]) >= 2
        assert not screen.query_one("#must-gpu-on", Static).display
        await toggle(pilot, "#gpu-on")
        assert "accelerator_metrics" in text_of(screen, "#must-gpu-on")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.state.draft.get("gpu_pool") is None and not app.state.draft.has("gpu_pools")
        screen = await show(app, pilot, "gpu")  # the step again, in the same session: switched on, all of them
        await toggle(pilot, "#gpu-on")
        assert table_rows(screen, "#gpu-pools") == rows
        await pilot.press("ctrl+n")
        await settle(pilot)
    assert app.state.draft.get("gpu_pools") == draft["gpu_pools"] and not app.state.draft.has("gpu_pool")


async def test_a_pool_changed_in_the_tui_is_saved_into_the_commented_file(tmp_path: Path) -> None:
    """Prefilled with the production file, the Spot pool's max is raised on the GPU step: Ctrl+S saves it into
    the same file, every comment kept, and it loads back with that change only."""
    from tests.tui.test_tui_flow import make_app as flow_app
    from tests.tui.test_tui_flow import sign_in

    answers = production(tmp_path)
    before = answers.read_text()
    app = flow_app(tmp_path, answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await wait_screen(pilot, "ReviewScreen")
        await pilot.press("escape")
        await wait_screen(pilot, "AddonsScreen")
        await pilot.press("escape")
        screen = await wait_screen(pilot, "GpuScreen")
        await settle(pilot)
        screen.query_one("#gpu-pools", DataTable).focus()
        await pilot.press("down")
        await settle(pilot)
        assert screen.query_one("#gpu-name", Input).value == "a100spot"
        await type_into(pilot, "#gpu-max", "4", keys=True)
        await pilot.press("ctrl+s")
        await settle(pilot)
    # the one value changed, every other byte as written: comments, layout, the pool list item by item
    assert answers.read_text() == before.replace("autoscale: {min: 0, max: 2}", "autoscale: {min: 0, max: 4}")
    assert load_answers(answers).gpu_pools[1].autoscale.max == 4

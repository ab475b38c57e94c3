"""GPU sizing: models from size names, the sizing table against the simulator, list prices from the
simulator's bundled Retail Prices table, a price service that times out, and `gpu-sizes` on the command line."""
from __future__ import annotations

import argparse
import json
import time

import pytest

from tests.support.preflight import Loopback, make_answers, preflight, sim_conn
from wizard.sim.prices import handle_prices


@pytest.fixture
def conn(sim):
    c = sim_conn(sim)
    yield c
    c.close()


@pytest.fixture
def prices_server():
    with Loopback(handle_prices) as lb:
        yield lb


@pytest.fixture
def slow_server():
    """Answers correctly, but only after 3 seconds: longer than any timeout the tests use."""
    with Loopback(handle_prices, delay=3.0) as lb:
        yield lb


# ------------------------------------------------------------------------------------------ GPU models
@pytest.mark.parametrize("size,family,model,vendor", [
    ("Standard_NC6s_v3", "standardNCSv3Family", "V100", "NVIDIA"),
    ("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", "T4", "NVIDIA"),
    ("Standard_NV36ads_A10_v5", "standardNVADSA10v5Family", "A10", "NVIDIA"),
    ("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", "A100", "NVIDIA"),
    ("Standard_ND96asr_v4", "standardNDASv4_A100Family", "A100", "NVIDIA"),
    ("Standard_ND96amsr_A100_v4", "standardNDAMSv4_A100Family", "A100", "NVIDIA"),
    ("Standard_NC40ads_H100_v5", "standardNCadsH100v5Family", "H100", "NVIDIA"),
    ("Standard_ND96isr_H100_v5", "standardNDSH100v5Family", "H100", "NVIDIA"),
    ("Standard_ND96isr_H200_v5", "standardNDSH200v5Family", "H200", "NVIDIA"),
    ("Standard_ND128isr_NDR_GB200_v6", "standardNDGB200v6Family", "GB200", "NVIDIA"),
    ("Standard_ND96isr_MI300X_v5", "standardNDISRMI300Xv5Family", "MI300X", "AMD"),
    ("Standard_ND40rs_v2", "standardNDSv2Family", "V100", "NVIDIA"),
    ("Standard_NC24s_v2", "standardNCSv2Family", "P100", "NVIDIA"),
    ("Standard_NV12s_v3", "standardNVSv3Family", "M60", "NVIDIA"),
])
def test_gpu_model_from_size(size, family, model, vendor):
    from wizard.preflight.gpu_models import gpu_model

    g = gpu_model(size, family)
    assert g is not None and (g.model, g.vendor) == (model, vendor)


# ------------------------------------------------------------------------------------------ sizing table
def test_sizing_table_from_resource_skus_and_usage(conn):
    from wizard.preflight.sizing import gpu_sizes

    table = gpu_sizes(conn, "westeurope", min_nodes=1, max_nodes=3)
    by = {r.size.name: r for r in table.rows}
    assert set(by) == {"Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4",
                       "Standard_NC40ads_H100_v5", "Standard_NV36ads_A10_v5", "Standard_ND96asr_v4"}
    t4 = by["Standard_NC4as_T4_v3"].size
    assert (t4.gpu_model, t4.gpus, t4.vcpus, t4.memory_gb, t4.zones) == ("T4", 1, 4, 28.0, ("1", "2", "3"))
    assert t4.family_remaining == 16 and t4.max_nodes == 3  # (3 + 1 surge) x 4 = 16
    assert by["Standard_NC4as_T4_v3"].status == "fits" and by["Standard_NC4as_T4_v3"].vcpus_needed == 16
    a100 = by["Standard_NC24ads_A100_v4"]
    assert a100.size.zones == ("1", "2") and "zones 3" in a100.size.restriction
    assert a100.status == "quota-request" and a100.new_family_limit == 96
    assert "standardNCADSA100v4Family to at least 96 vCPUs" in a100.request
    assert a100.requests[0]["command"].startswith("az quota update --resource-name standardNCADSA100v4Family")
    assert by["Standard_NC40ads_H100_v5"].status == "unavailable"
    assert by["Standard_NC40ads_H100_v5"].size.max_nodes == 0
    nd = by["Standard_ND96asr_v4"]
    assert nd.size.gpus == 8 and nd.status == "quota-request" and nd.new_regional_limit == 384
    # ranking: what fits first, then quota requests, then unavailable
    order = [r.status for r in table.rows]
    assert order == sorted(order, key=["fits", "quota-request", "unknown-quota", "unavailable"].index)
    text = table.text()
    assert "Standard_NC4as_T4_v3" in text and "needs quota" in text and "QuotaMenuBlade" in text
    json.dumps(table.to_dict())


def test_filter_by_gpus_per_node(conn):
    from wizard.preflight.sizing import gpu_sizes

    table = gpu_sizes(conn, "eastus2", gpus_per_node=8, min_nodes=0, max_nodes=1)
    assert [r.size.name for r in table.rows] == ["Standard_ND96asr_v4"]
    assert table.rows[0].needs_quota_request  # family limit 0 in the simulator
    assert gpu_sizes(conn, "eastus2", gpus_per_node=4).rows == []


def test_costs_at_min_and_max_from_the_simulated_price_table(conn, prices_server):
    from wizard.preflight.sizing import gpu_sizes
    from wizard.pricing import PriceClient

    prices = PriceClient(prices_server.url, timeout=2)
    table = gpu_sizes(conn, "eastus2", gpus_per_node=1, min_nodes=1, max_nodes=3, prices=prices)
    row = next(r for r in table.rows if r.size.name == "Standard_NC4as_T4_v3")
    assert row.price.status == "ok" and row.price.price.hourly == pytest.approx(0.526)
    est = row.estimate
    assert est["hourly_min"] == pytest.approx(0.526, abs=0.005) and est["hourly_max"] == pytest.approx(1.578, abs=0.005)
    assert est["monthly_min"] == pytest.approx(384, abs=1) and est["monthly_max"] == pytest.approx(1152, abs=1)
    assert "list-price estimate" in est["label"]
    fits = [r for r in table.rows if r.fits]
    assert [r.size.name for r in fits][0] == "Standard_NC4as_T4_v3"  # cheapest that fits first
    assert "384-1,152" in table.text()


# ------------------------------------------------------------------------------------------ prices
def test_price_client_picks_linux_pay_as_you_go_and_caches(prices_server):
    from wizard.pricing import PriceClient

    client = PriceClient(prices_server.url, timeout=2)
    price = client.hourly("westeurope", "Standard_NC4as_T4_v3")
    assert price.hourly == pytest.approx(0.526 * 1.18, rel=1e-3)  # not Windows, Spot or a reservation
    assert price.currency == "USD" and price.product.endswith("Series")
    sent = client.requests_sent
    assert client.hourly("westeurope", "Standard_NC4as_T4_v3") == price
    assert client.requests_sent == sent  # cached
    assert client.hourly("westeurope", "Standard_Nope_v9") is None
    results = client.lookup("westeurope", ["Standard_NC4as_T4_v3", "Standard_Nope_v9"])
    assert results["Standard_NC4as_T4_v3"].status == "ok" and results["Standard_Nope_v9"].status == "not-found"
    q = prices_server.hits[0]
    assert "serviceName" in q and "priceType" in q and "armSkuName" in q


def test_price_client_with_currency(prices_server):
    from wizard.pricing import PriceClient

    eur = PriceClient(prices_server.url, currency="EUR").hourly("eastus", "Standard_NC4as_T4_v3")
    assert eur.currency == "EUR" and eur.hourly == pytest.approx(0.526 * 0.92, rel=1e-3)


def test_sim_price_handler_filters_pages_and_rejects():
    status, headers, body = handle_prices("/api/retail/prices", {
        "$filter": ["armRegionName eq 'eastus' and (armSkuName eq 'Standard_NC4as_T4_v3' or armSkuName eq "
                    "'Standard_D4ds_v5') and priceType eq 'Consumption'"]})
    data = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert {i["armSkuName"] for i in data["Items"]} == {"Standard_NC4as_T4_v3", "Standard_D4ds_v5"}
    assert all(i["type"] == "Consumption" for i in data["Items"]) and data["Count"] == 6
    status, _, body = handle_prices("/api/retail/prices", {})
    data = json.loads(body)
    assert status == 200 and data["Count"] == 100 and data["NextPageLink"].startswith("/api/retail/prices?")
    assert handle_prices("/api/retail/prices", {"$filter": ["armSkuName gt 'x'"]})[0] == 400
    assert handle_prices("/api/retail/prices", {"currencyCode": ["'XYZ'"]})[0] == 400
    assert handle_prices("/api/other", {})[0] == 404


def test_price_lookup_that_times_out_says_price_unavailable(slow_server):
    from wizard.pricing import PriceClient, PriceUnavailable

    client = PriceClient(slow_server.url, timeout=0.3, retries=1)
    started = time.monotonic()
    results = client.lookup("eastus", ["Standard_NC24ads_A100_v4", "Standard_NC4as_T4_v3"], deadline=0.6)
    took = time.monotonic() - started
    assert took < 1.5, took
    assert all(r.status == "unavailable" and r.price is None for r in results.values())
    assert results["Standard_NC24ads_A100_v4"].text.startswith("price unavailable")
    started = time.monotonic()
    with pytest.raises(PriceUnavailable):
        client.hourly("eastus", "Standard_NC24ads_A100_v4")
    assert time.monotonic() - started < 2.5  # two attempts of 0.3 s read timeout plus a short backoff


def test_sizing_and_preflight_never_wait_on_a_hanging_price_service(conn, slow_server):
    from wizard.preflight.sizing import gpu_sizes
    from wizard.pricing import PriceClient

    prices = PriceClient(slow_server.url, timeout=0.3, retries=0)
    started = time.monotonic()
    table = gpu_sizes(conn, "eastus2", min_nodes=1, max_nodes=2, prices=prices)
    assert time.monotonic() - started < 2.9  # the price service answers after 3 s: it was not waited for
    assert all(r.price is not None and r.price.status == "unavailable" for r in table.rows)
    assert "price unavailable" in table.text()

    started = time.monotonic()
    report, _ = preflight(conn, make_answers(), prices=prices)
    assert time.monotonic() - started < 3.0
    assert report.ok and report.estimate["available"] is False
    assert "price unavailable" in report.text()


def test_preflight_cost_estimate(conn, prices_server):
    from wizard.pricing import PriceClient

    report, _ = preflight(conn, make_answers(), prices=PriceClient(prices_server.url))
    est = report.estimate
    assert est["available"] and est["size"] == "Standard_NC4as_T4_v3" and (est["min_nodes"], est["max_nodes"]) == (1, 3)
    assert est["hourly_max"] == pytest.approx(1.578, abs=0.005)
    assert "list-price estimate" in report.text()


# ------------------------------------------------------------------------------------------ command line
def _parser():
    from wizard.preflight_cli import add_gpu_sizes_parser

    try:
        from wizard.cli import _global_options
    except ImportError:  # pragma: no cover
        _global_options = None
    p = argparse.ArgumentParser(prog="aks-ai-wizard")
    if _global_options:
        _global_options(p, False)
    sub = p.add_subparsers(dest="command")
    add_gpu_sizes_parser(sub, (lambda q: _global_options(q, suppress=True)) if _global_options else None)
    return p


def test_gpu_sizes_command_simulated_json(capsys, prices_server):
    from wizard.preflight_cli import run_gpu_sizes

    args = _parser().parse_args(["--simulate", "--sim-speed", "100000", "gpu-sizes", "--location", "eastus2",
                                 "--gpus-per-node", "1", "--min", "1", "--max", "3", "--output", "json",
                                 "--prices-url", prices_server.url])
    assert run_gpu_sizes(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "gpu-sizes" and out["location"] == "eastus2" and out["max_nodes"] == 3
    names = [s["name"] for s in out["sizes"]]
    assert "Standard_NC4as_T4_v3" in names and "Standard_NC6s_v3" not in names and "Standard_ND96asr_v4" not in names
    t4 = next(s for s in out["sizes"] if s["name"] == "Standard_NC4as_T4_v3")
    assert t4["status"] == "fits" and t4["max_nodes"] == 3 and t4["price"] == pytest.approx(0.526, abs=0.005)
    h100 = next(s for s in out["sizes"] if s["name"] == "Standard_NC40ads_H100_v5")
    assert h100["needs_quota_request"] and h100["quota_portal"].startswith("https://portal.azure.com")


def test_gpu_sizes_command_text_and_errors(capsys):
    from wizard.preflight_cli import run_gpu_sizes

    p = _parser()
    assert run_gpu_sizes(p.parse_args(["--simulate", "gpu-sizes", "-l", "westus3", "--no-prices"])) == 0
    out = capsys.readouterr().out
    assert "GPU VM sizes in westus3" in out and "not available" in out
    # not simulated, no --subscription and no default: it signs in to list them, and without credentials
    # here that is a sign-in failure explained with how to sign in
    assert run_gpu_sizes(p.parse_args(["gpu-sizes", "-l", "eastus"])) == 3
    assert "az login" in capsys.readouterr().err
    assert run_gpu_sizes(p.parse_args(["--simulate", "gpu-sizes", "-l", "eastus", "--min", "3", "--max", "2"])) == 1
    assert run_gpu_sizes(p.parse_args(["--simulate", "gpu-sizes", "-l", "nowhere", "--no-prices"])) == 3
    assert "azure.location" in capsys.readouterr().err

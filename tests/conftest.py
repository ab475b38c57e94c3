"""Shared fixtures: `sim`, a started simulated Azure fast enough that LROs finish in milliseconds, and
`arm_clients(sim)`, the real SDK clients pointed at it (recipe: ../shared/arm/README.md section 4)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

FAST = 1e5  # simulated speed: a 6-minute cluster create takes ~4 ms
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _no_skip_in_ci(report: Any) -> None:
    """In CI (CI=true) a skip is a failure: a missing ../shared, tmux or test package must fail the run, not
    quietly shrink it. Outside CI a skip stays a skip (a checkout without ../shared beside it)."""
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    _no_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: Any) -> Iterator[None]:
    outcome = yield
    _no_skip_in_ci(outcome.get_result())


@pytest.fixture(autouse=True)
def _own_azure_cli_config(tmp_path_factory: Any, monkeypatch: Any) -> None:
    """The Azure CLI configuration of the machine running the tests (clouds registered in ~/.azure) never reaches
    them: each test starts with an empty one, and a test that registers a cloud sets its own."""
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path_factory.mktemp("azure-cli-config")))


@pytest.fixture
def sim() -> Iterator[Any]:
    from wizard.sim import Simulator

    s = Simulator(speed=FAST).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def make_sim(tmp_path) -> Iterator[Any]:
    """Factory for extra simulators (faults, state files); all stopped afterwards."""
    from wizard.sim import Simulator

    started: list[Any] = []

    def make(**kw: Any) -> Any:
        kw.setdefault("speed", FAST)
        s = Simulator(**kw).start()
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def _allow_http_policy() -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class AllowHttpPolicy(SansIOHTTPPolicy):
        """Lets the bearer-token policy send the token over plain http to the loopback simulator."""

        def on_request(self, request: Any) -> None:
            request.context["enforce_https"] = False

    return AllowHttpPolicy()


@dataclass
class ArmClients:
    aks: Any
    resources: Any
    features: Any
    subscriptions: Any
    compute: Any


def arm_clients(sim: Any, **kw: Any) -> ArmClients:
    """Real SDK clients against the simulator. Extra kwargs (retry_total=0, ...) go to every client."""
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.resource.features import FeatureClient
    from azure.mgmt.resource.resources import ResourceManagementClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    common = dict(base_url=sim.base_url, polling_interval=0, per_call_policies=[_allow_http_policy()])
    common.update(kw)
    cred, sub = sim.credential, sim.subscription_id
    return ArmClients(
        aks=ContainerServiceClient(cred, sub, **common),
        resources=ResourceManagementClient(cred, sub, **common),
        features=FeatureClient(cred, sub, **common),
        subscriptions=SubscriptionClient(cred, **common),
        compute=ComputeManagementClient(cred, sub, **common),
    )


@pytest.fixture
def clients(sim: Any) -> ArmClients:
    return arm_clients(sim)

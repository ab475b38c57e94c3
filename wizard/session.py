"""Opens the connection a command works through: real Azure (credential, cloud, subscription) or the embedded
simulator. This is the only module that knows both exist; everything after it sees an ArmConnection and
cannot tell them apart.

Signing in, choosing a subscription and working in it are separate steps (`connect` -> `Link.resolve` ->
`Link.bind`) because the interactive wizard lists subscriptions before it has answers; the commands go
through the same steps in one call (`open_session`, `open_for_args`).
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    import argparse

    from wizard.addons import AddonOptions
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection
    from wizard.engine import RunOptions
    from wizard.pricing import PriceClient

log = logging.getLogger(__name__)

REAL_POLL_INTERVAL = 10.0  # seconds; used only when Azure sends no Retry-After
SIMULATED_SUBSCRIPTION = "Simulated Subscription"
SIM_SPEED = 60.0  # --simulate's default: simulated operations run this many times faster than Azure's typical


@dataclass
class SimOptions:
    speed: float = SIM_SPEED
    faults: list[str] = field(default_factory=list)
    state_file: Path | None = None
    degrade: list[str] = field(default_factory=list)  # simulated clusters fall short (wizard.sim.kube.degrade)


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    name: str
    state: str = ""
    is_default: bool = False

    @property
    def label(self) -> str:
        state = f"  [{self.state}]" if self.state and self.state.lower() != "enabled" else ""
        return f"{self.name}  ({self.id}){state}"


@dataclass
class Session:
    """A connection bound to one subscription, and how to pace work through it."""

    conn: "ArmConnection"
    subscription: tuple[str, str]
    poll_interval: float
    simulator: Any | None = None
    time_scale: float = 1.0  # simulated durations relative to Azure's typical ones
    notes: list[str] = field(default_factory=list)
    link: "Link | None" = None  # closed with the session when the session owns it
    no_prices: bool = False  # --no-prices: no list-price look-ups at all

    def probe_pacing(self) -> dict[str, float]:
        """VerifyOptions for the probes' real-time waits: in simulation they follow the simulator's clock like every
        other wait (a 30 s wait for a too-big gang to stay unscheduled takes 30 s of simulated time)."""
        if self.simulator is None:
            return {}
        return {"gang_negative_seconds": max(0.5, 30 * self.time_scale), "poll_interval": self.poll_interval}

    @property
    def prices_url(self) -> str:
        """Where list prices come from: the Azure Retail Prices API, or the simulator's bundled table."""
        from wizard.pricing import DEFAULT_PRICES_URL

        return self.simulator.base_url if self.simulator is not None else DEFAULT_PRICES_URL

    @property
    def prices_note(self) -> str | None:
        """Why no list prices are looked up, in one line (None: they are). The Retail Prices API is public
        Azure's: for any other cloud nothing is sent there, so nothing leaves the chosen cloud."""
        if self.no_prices:
            return "No list prices: --no-prices."
        cloud = self.conn.cloud
        if cloud.is_custom or cloud.name != "AzureCloud":
            return (f"No list prices: the Azure Retail Prices API covers the public AzureCloud only, and nothing is "
                    f"sent outside {cloud.name}.")
        return None

    def prices(self) -> "PriceClient | None":
        """The list-price client, or None when prices are not looked up (``prices_note`` says why)."""
        from wizard.pricing import PriceClient

        return None if self.prices_note else PriceClient(self.prices_url)

    def addon_options(self) -> "AddonOptions":
        """Where add-on releases are downloaded from: the official locations, or the simulator's copies."""
        from wizard.addons import RELEASE_BASE, AddonOptions

        if self.simulator is None:
            return AddonOptions(kueue_release_base=RELEASE_BASE)
        from wizard.sim.releases import kueue_release_base, kueue_shipped

        return AddonOptions(kueue_release_base=kueue_release_base(self.simulator.base_url),
                            kueue_shipped=kueue_shipped())

    def run_options(self, **overrides: Any) -> "RunOptions":
        """Engine options paced for this connection (simulated or real), plus any overrides."""
        from wizard.engine import RunOptions

        return RunOptions(poll_interval=self.poll_interval, tick=min(0.5, max(0.02, self.poll_interval)),
                          typical_scale=self.time_scale, addons=self.addon_options(), **overrides)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        else:
            self.conn.close()


def default_subscription_id() -> str | None:
    """The subscription `az` (or the environment) treats as current, if any."""
    env = os.environ.get("AZURE_SUBSCRIPTION_ID")
    if env:
        return env
    from wizard.azure.clouds import az_config_dir

    profile = az_config_dir() / "azureProfile.json"
    try:
        data = json.loads(profile.read_text(encoding="utf-8-sig"))  # az writes a BOM
    except (OSError, ValueError):
        return None
    for sub in data.get("subscriptions") or []:
        if sub.get("isDefault"):
            sid: str | None = sub.get("id")
            return sid
    return None


class Link:
    """A signed-in connection to Resource Manager with no subscription bound yet (or the simulator)."""

    def __init__(self, conn: "ArmConnection", poll_interval: float, simulator: Any | None = None,
                 cloud_name: str = "AzureCloud", time_scale: float = 1.0) -> None:
        self.conn = conn
        self.time_scale = time_scale
        self.poll_interval = poll_interval
        self.simulator = simulator
        self.cloud_name = cloud_name
        self.no_prices = False  # sessions bound from this link look up no list prices (--no-prices)
        self._bound: list["ArmConnection"] = []
        self._lock = threading.Lock()

    @property
    def simulated(self) -> bool:
        return self.simulator is not None

    def list_subscriptions(self) -> list[SubscriptionInfo]:
        default = self.simulator.subscription_id if self.simulator is not None else default_subscription_id()
        out = []
        for s in self.conn.subscriptions.subscriptions.list():
            sid = s.subscription_id or ""
            state = getattr(s, "state", None)
            state = str(getattr(state, "value", state) or "")  # an SDK enum or a plain string
            out.append(SubscriptionInfo(sid, s.display_name or sid, state,
                                        bool(default) and sid.lower() == (default or "").lower()))
        return sorted(out, key=lambda s: (not s.is_default, s.name.casefold()))

    def resolve(self, wanted: str | None) -> tuple[str, str]:
        """A subscription id or display name -> (id, name). None: the current default, else the only one
        visible. The simulator has one subscription: any name maps to it."""
        from wizard.azure.connection import resolve_subscription
        from wizard.failure import AzureFailure, AzureLayerError

        if self.simulator is not None:
            try:
                return resolve_subscription(self.conn, wanted or SIMULATED_SUBSCRIPTION)
            except AzureLayerError:
                return self.simulator.subscription_id, SIMULATED_SUBSCRIPTION
        wanted = wanted or default_subscription_id()
        if not wanted:
            subs = self.list_subscriptions()
            if len(subs) == 1:
                return subs[0].id, subs[0].name
            raise AzureLayerError(AzureFailure(
                "subscription", None, "No subscription was chosen.",
                f"{len(subs)} subscriptions are visible and none is marked as the default: "
                + ", ".join(f"{s.name!r} ({s.id})" for s in subs[:10]) + ".",
                "Pass --subscription ID_OR_NAME, set AZURE_SUBSCRIPTION_ID, or choose one with az account set.",
                None, None, None, "", "azure.subscription"))
        return resolve_subscription(self.conn, wanted)

    def bind(self, subscription_id: str, name: str) -> Session:
        """A Session in that subscription; the Link keeps owning the simulator (close the Link, not it)."""
        conn = self.conn.with_subscription(subscription_id)
        with self._lock:
            self._bound.append(conn)
        return Session(conn, (subscription_id, name), self.poll_interval, self.simulator, self.time_scale,
                       no_prices=self.no_prices)

    def close(self) -> None:
        with self._lock:
            bound, self._bound = self._bound, []
        for conn in [*bound, self.conn]:
            conn.close()
        if self.simulator is not None:
            sim, self.simulator = self.simulator, None
            sim.stop()


def connect(cloud: str | Mapping[str, Any] = "AzureCloud", auth: str = "default", tenant: str | None = None,
            sim: SimOptions | None = None, device_code_prompt: Callable[..., None] | None = None) -> Link:
    """Sign in (no network call yet for `default`) or start the simulator; no subscription is needed."""
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection

    if sim is None:
        from wizard.azure.auth import build_credential

        resolved = resolve_cloud(cloud)
        credential = build_credential(resolved, auth, tenant, prompt=device_code_prompt)  # type: ignore[arg-type]
        return Link(ArmConnection(credential, None, resolved, polling_interval=REAL_POLL_INTERVAL),
                    REAL_POLL_INTERVAL, None, resolved.name)

    from wizard.sim import Simulator

    try:
        simulator = Simulator(speed=sim.speed, faults=sim.faults, state_file=sim.state_file,
                              degrade=sim.degrade).start()
    except ValueError as exc:  # a corrupt or foreign --sim-state file: the user's to fix, not Azure's
        from wizard.exit_codes import InvalidInput

        raise InvalidInput(str(exc), "point --sim-state at the file a simulated run kept, or at a new path "
                           "(delete a file that is damaged)") from None
    poll = max(0.01, min(REAL_POLL_INTERVAL, REAL_POLL_INTERVAL / sim.speed))
    conn = ArmConnection(simulator.credential, None, resolve_cloud("AzureCloud"), base_url=simulator.base_url,
                         allow_http=True, polling_interval=poll, data_plane_base=simulator.base_url)
    return Link(conn, poll, simulator, "AzureCloud (simulated)", time_scale=1.0 / sim.speed)


def _owned(link: Link, wanted: str | None) -> Session:
    try:
        sub = link.resolve(wanted)
    except BaseException:
        link.close()
        raise
    session = link.bind(*sub)
    session.link = link
    if link.simulated and wanted and wanted not in (sub[0], sub[1]):
        session.notes.append(f"simulating subscription {wanted!r} as {sub[1]!r}")
    return session


def open_session(answers: "Answers", sim: SimOptions | None = None,
                 device_code_prompt: Callable[..., None] | None = None) -> Session:
    """The session an answers file describes (cloud, sign-in, subscription), or the simulator."""
    cloud = answers.azure.cloud if isinstance(answers.azure.cloud, str) else answers.azure.cloud.model_dump()
    return _owned(connect(cloud, answers.azure.auth, answers.azure.tenant, sim, device_code_prompt),
                  answers.azure.subscription)


def open_for_args(args: "argparse.Namespace") -> Session:
    """A session from the global options alone (commands that take no answers file: verify, gpu-sizes):
    --simulate/--sim-*, --cloud, --subscription (else the current default, else the only one visible)."""
    sim = None
    if getattr(args, "simulate", False):
        sim = SimOptions(float(getattr(args, "sim_speed", None) or SIM_SPEED), list(getattr(args, "sim_fault", None) or []),
                         getattr(args, "sim_state", None), list(getattr(args, "sim_degrade", None) or []))
    from wizard.azure.clouds import cloud_setting

    cloud = getattr(args, "cloud", None)
    link = connect(cloud_setting(cloud) if cloud else "AzureCloud", "default", os.environ.get("AZURE_TENANT_ID"), sim)
    return _owned(link, getattr(args, "subscription", None))

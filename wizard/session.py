"""Opens the connection a command works through: real Azure (credential, cloud, subscription) or the
embedded simulator. This is the only module that knows both exist; everything after it sees an
ArmConnection and cannot tell them apart."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from wizard.answers import Answers
    from wizard.azure.connection import ArmConnection

log = logging.getLogger(__name__)

REAL_POLL_INTERVAL = 10.0  # seconds; used only when Azure sends no Retry-After


@dataclass
class SimOptions:
    speed: float = 60.0
    faults: list[str] = field(default_factory=list)
    state_file: Path | None = None


@dataclass
class Session:
    conn: "ArmConnection"
    subscription: tuple[str, str]
    poll_interval: float
    simulator: Any | None = None
    time_scale: float = 1.0  # simulated durations relative to Azure's typical ones
    notes: list[str] = field(default_factory=list)

    @property
    def prices_url(self) -> str:
        """Where list prices come from: the Azure Retail Prices API, or the simulator's bundled table."""
        from wizard.pricing import DEFAULT_PRICES_URL

        return self.simulator.base_url if self.simulator is not None else DEFAULT_PRICES_URL

    def close(self) -> None:
        self.conn.close()
        if self.simulator is not None:
            self.simulator.stop()


def open_session(answers: "Answers", sim: SimOptions | None = None,
                 device_code_prompt: Callable[..., None] | None = None) -> Session:
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection, resolve_subscription
    from wizard.azure.errors import AzureLayerError

    if sim is None:
        from wizard.azure.auth import build_credential

        cloud = resolve_cloud(answers.azure.cloud if isinstance(answers.azure.cloud, str)
                              else answers.azure.cloud.model_dump())
        credential = build_credential(cloud, answers.azure.auth, answers.azure.tenant, prompt=device_code_prompt)
        base = ArmConnection(credential, None, cloud, polling_interval=REAL_POLL_INTERVAL)
        subscription = resolve_subscription(base, answers.azure.subscription)
        return Session(base.with_subscription(subscription[0]), subscription, REAL_POLL_INTERVAL)

    from wizard.sim import Simulator

    simulator = Simulator(speed=sim.speed, faults=sim.faults, state_file=sim.state_file).start()
    poll = max(0.01, min(REAL_POLL_INTERVAL, REAL_POLL_INTERVAL / sim.speed))
    base = ArmConnection(simulator.credential, None, resolve_cloud("AzureCloud"), base_url=simulator.base_url,
                         allow_http=True, polling_interval=poll)
    notes = []
    try:
        subscription = resolve_subscription(base, answers.azure.subscription)
    except AzureLayerError:  # the simulator has exactly one subscription; any name maps to it
        subscription = (simulator.subscription_id, "Simulated Subscription")
        notes.append(f"simulating subscription {answers.azure.subscription!r} as {subscription[1]!r}")
    return Session(base.with_subscription(subscription[0]), subscription, poll, simulator=simulator, notes=notes,
                   time_scale=1.0 / sim.speed)

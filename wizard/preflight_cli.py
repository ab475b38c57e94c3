"""`aks-ai-wizard gpu-sizes --location L [--gpus-per-node N] [--min N --max N] [--output text|json]`

The GPU VM sizes a location offers this subscription, with the remaining family quota, the most nodes it
allows (counting the upgrade surge), which sizes need a quota request (and the link), and list-price cost at
min and max nodes. Reads only. Needs a subscription: `--subscription`, or `--simulate` for the simulated one.

Wiring (wizard/cli.py):  add_gpu_sizes_parser(sub, lambda p: _global_options(p, suppress=True))
                         and in main(): if args.command == "gpu-sizes": return run_gpu_sizes(args)
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from wizard.azure.connection import ArmConnection

EXIT_OK, EXIT_INVALID, EXIT_AZURE = 0, 1, 3


def add_gpu_sizes_parser(subparsers: Any, add_global_options: Callable[[argparse.ArgumentParser], Any] | None = None
                         ) -> argparse.ArgumentParser:
    help_ = ("list the GPU VM sizes a location offers this subscription, with quota room, the most nodes it "
             "allows, and list-price cost; reads only")
    p = subparsers.add_parser("gpu-sizes", help=help_, description=help_,
                              epilog="Exit codes: 0 listed, 1 invalid input, 3 an Azure read failed.")
    if add_global_options is not None:
        add_global_options(p)
    p.add_argument("--location", "-l", required=True, metavar="REGION", help="Azure region name, e.g. eastus2")
    p.add_argument("--gpus-per-node", type=int, metavar="N", help="only sizes with exactly N GPUs per node")
    p.add_argument("--min", type=int, default=1, dest="min_nodes", metavar="N", help="fewest nodes (default 1)")
    p.add_argument("--max", type=int, default=None, dest="max_nodes", metavar="N",
                   help="most nodes, e.g. the autoscaler max (default: --min); quota counts max + surge")
    p.add_argument("--output", choices=("text", "json"), default="text")
    p.add_argument("--prices-url", metavar="URL", default=None,
                   help="Azure Retail Prices API base URL (default https://prices.azure.com; with --simulate the "
                        "simulator's)")
    p.add_argument("--price-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="give up on prices after this long and say 'price unavailable' (default 5)")
    p.add_argument("--no-prices", action="store_true", help="do not look up prices")
    return p


@dataclass
class Opened:
    conn: "ArmConnection"
    subscription: tuple[str, str]
    prices_url: str | None  # the simulator's base_url in simulation
    simulator: Any = None


class NeedsSubscription(ValueError):
    pass


@contextmanager
def open_arm(args: argparse.Namespace) -> Iterator[Opened]:
    """An ArmConnection without an answers file: the simulator (``--simulate``) or real Azure with
    ``--subscription`` (and ``--cloud``), built the way wizard/session.py builds it."""
    from wizard.azure.clouds import resolve_cloud
    from wizard.azure.connection import ArmConnection, resolve_subscription

    if getattr(args, "simulate", False):
        from wizard.sim import Simulator
        from wizard.session import REAL_POLL_INTERVAL

        speed = float(getattr(args, "sim_speed", None) or 60.0)
        sim = Simulator(speed=speed, faults=list(getattr(args, "sim_fault", None) or []),
                        state_file=getattr(args, "sim_state", None)).start()
        try:
            poll = max(0.01, min(REAL_POLL_INTERVAL, REAL_POLL_INTERVAL / speed))
            conn = ArmConnection(sim.credential, sim.subscription_id, resolve_cloud("AzureCloud"),
                                 base_url=sim.base_url, allow_http=True, polling_interval=poll)
            try:
                yield Opened(conn, (sim.subscription_id, "Simulated Subscription"), sim.base_url, sim)
            finally:
                conn.close()
        finally:
            sim.stop()
        return
    wanted = getattr(args, "subscription", None)
    if not wanted:
        raise NeedsSubscription("gpu-sizes needs a subscription: pass --subscription ID_OR_NAME "
                                "(az account list -o table shows them), or --simulate for the simulated one.")
    from wizard.azure.auth import build_credential

    cloud = resolve_cloud(getattr(args, "cloud", None) or "AzureCloud")
    base = ArmConnection(build_credential(cloud, "default"), None, cloud)
    try:
        subscription = resolve_subscription(base, wanted)
        conn = base.with_subscription(subscription[0])
        try:
            yield Opened(conn, subscription, None)
        finally:
            conn.close()
    finally:
        base.close()


def run_gpu_sizes(args: argparse.Namespace) -> int:
    from wizard.azure.errors import translate

    json_out = getattr(args, "output", "text") == "json"

    def error(message: str, code: int, failure: Any = None) -> int:
        if json_out:
            body = {"type": "error", **(failure.to_dict() if failure else {"what": message})}
            print(json.dumps(body), file=sys.stderr)
        else:
            print(failure.render() if failure else f"error: {message}", file=sys.stderr)
        return code

    min_nodes, max_nodes = args.min_nodes, args.max_nodes if args.max_nodes is not None else args.min_nodes
    gpus = args.gpus_per_node
    if min_nodes < 0 or max_nodes < min_nodes or max_nodes > 1000:
        return error(f"need 0 <= --min <= --max <= 1000 (got --min {min_nodes} --max {max_nodes})", EXIT_INVALID)
    if gpus is not None and gpus < 1:
        return error(f"--gpus-per-node must be 1 or more (got {gpus})", EXIT_INVALID)
    location = args.location.replace(" ", "").lower()
    try:
        with open_arm(args) as opened:
            from wizard.preflight.sizing import gpu_sizes
            from wizard.pricing import DEFAULT_PRICES_URL, PriceClient

            prices = None
            if not args.no_prices:
                prices = PriceClient(args.prices_url or opened.prices_url or DEFAULT_PRICES_URL,
                                     timeout=args.price_timeout)
            try:
                table = gpu_sizes(opened.conn, location, gpus, min_nodes, max_nodes, prices,
                                  price_deadline=args.price_timeout + 0.5 if prices else None)
            finally:
                if prices is not None:
                    prices.close()
            if json_out:
                print(json.dumps({"type": "gpu-sizes", "subscription": opened.subscription[0],
                                  **table.to_dict()}, default=str))
            else:
                print(f"Subscription: {opened.subscription[1]} ({opened.subscription[0]})")
                print(table.text())
            return EXIT_OK
    except NeedsSubscription as exc:
        return error(str(exc), EXIT_INVALID)
    except Exception as exc:  # noqa: BLE001 - sign-in and read failures are results, not tracebacks
        return error(str(exc), EXIT_AZURE, translate(exc))

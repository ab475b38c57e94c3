"""`aks-ai-wizard gpu-sizes --location L [--gpus-per-node N] [--min N --max N] [--output text|json]`

The GPU VM sizes a location offers this subscription, with the remaining family quota, the most nodes it
allows (counting the upgrade surge), which sizes need a quota request (and the link), and list-price cost at
min and max nodes. Reads only. Needs a subscription: `--subscription`, or `--simulate` for the simulated one.

Wiring (wizard/cli.py):  add_gpu_sizes_parser(sub, lambda p: _global_options(p, suppress=True))
                         and in main(): if args.command == "gpu-sizes": return run_gpu_sizes(args, out)
"""
from __future__ import annotations

import argparse
from typing import Any, Callable, TypeVar

from wizard import exit_codes
from wizard.output import Output, output_option

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_gpu_sizes_parser(subparsers: "argparse._SubParsersAction[P]",
                         add_global_options: Callable[[argparse.ArgumentParser], Any] | None = None) -> P:
    help_ = ("list the GPU VM sizes a location offers this subscription, with quota room, the most nodes it "
             "allows, and list-price cost; reads only")
    p = subparsers.add_parser("gpu-sizes", help=help_, description=help_,
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="examples:\n"
                                     "  aks-ai-wizard gpu-sizes --location eastus2\n"
                                     "  aks-ai-wizard gpu-sizes -l westeurope --gpus-per-node 1 --min 1 --max 4\n"
                                     "  aks-ai-wizard --simulate gpu-sizes -l eastus2 --output json\n\n"
                                     + exit_codes.epilog())
    if add_global_options is not None:
        add_global_options(p)
    p.add_argument("--location", "-l", required=True, metavar="REGION", help="Azure region name, e.g. eastus2")
    p.add_argument("--gpus-per-node", type=int, metavar="N", help="only sizes with exactly N GPUs per node")
    p.add_argument("--min", type=int, default=1, dest="min_nodes", metavar="N", help="fewest nodes (default 1)")
    p.add_argument("--max", type=int, default=None, dest="max_nodes", metavar="N",
                   help="most nodes, e.g. the autoscaler max (default: --min); quota counts max + surge")
    output_option(p)
    p.add_argument("--prices-url", metavar="URL", default=None,
                   help="Azure Retail Prices API base URL (default https://prices.azure.com; with --simulate the "
                        "simulator's)")
    p.add_argument("--price-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="give up on prices after this long and say 'price unavailable' (default 5)")
    p.add_argument("--no-prices", action="store_true", help="do not look up prices")
    return p


def run_gpu_sizes(args: argparse.Namespace, out: Output | None = None) -> int:
    out = out or Output(getattr(args, "output", "text") == "json")
    min_nodes, max_nodes = args.min_nodes, args.max_nodes if args.max_nodes is not None else args.min_nodes
    gpus = args.gpus_per_node
    if min_nodes < 0 or max_nodes < min_nodes or max_nodes > 1000:
        return out.fail(exit_codes.INVALID, f"need 0 <= --min <= --max <= 1000 (got --min {min_nodes} --max "
                        f"{max_nodes})", "give node counts in that range", category="usage")
    if gpus is not None and gpus < 1:
        return out.fail(exit_codes.INVALID, f"--gpus-per-node must be 1 or more (got {gpus})",
                        "leave it out for every size, or give 1, 2, 4 or 8", category="usage")
    location = args.location.replace(" ", "").lower()
    from wizard.preflight.sizing import gpu_sizes
    from wizard.pricing import PriceClient
    from wizard.session import open_for_args

    try:
        session = open_for_args(args)
    except Exception as exc:  # noqa: BLE001 - sign-in and subscription failures are results, not tracebacks
        return out.failure(exc)
    session.no_prices = bool(args.no_prices)
    prices_note = None if args.prices_url else session.prices_note  # an explicit --prices-url is the user's choice
    prices = None if prices_note or args.no_prices else PriceClient(args.prices_url or session.prices_url,
                                                                   timeout=args.price_timeout)
    try:
        table = gpu_sizes(session.conn, location, gpus, min_nodes, max_nodes, prices,
                          price_deadline=args.price_timeout + 0.5 if prices else None)
    except Exception as exc:  # noqa: BLE001
        return out.failure(exc)
    finally:
        if prices is not None:
            prices.close()
        session.close()
    out.doc("gpu-sizes", {"subscription": session.subscription[0], **table.to_dict()})
    if not out.json_mode:
        out.result(f"Subscription: {session.subscription[1]} ({session.subscription[0]})")
        out.result(table.text())
        if prices_note and not args.no_prices:
            out.result(prices_note)
    return exit_codes.OK

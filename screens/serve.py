"""`aks-ai-wizard serve`: the same wizard in web browsers through textual-serve (workshops).

Each browser tab gets its own wizard process (textual-serve starts the command once per connection), so
each attendee has their own session folder, journal and, with --simulate, their own simulated Azure.
Loopback only unless asked: the page drives the Azure identity of whoever runs the server.
"""
from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other than loopback: whoever reaches the page uses this machine's Azure "
                        "sign-in")
    p.add_argument("--public-url", metavar="URL",
                   help="the URL browsers use to reach the server, when it differs from http://HOST:PORT")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def wizard_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this wizard, the global options given to serve."""
    parts = [sys.executable, "-m", "wizard"]
    if args.simulate:
        parts += ["--simulate", "--sim-speed", f"{args.sim_speed:g}"]
        for fault in args.sim_fault or []:
            parts += ["--sim-fault", fault]
    for option, value in (("--cloud", args.cloud), ("--subscription", args.subscription)):
        if value:
            parts += [option, value]
    return shlex.join(parts)


def run_serve(args: argparse.Namespace) -> int:
    if getattr(args, "sim_state", None) or getattr(args, "answers", None):
        print("error: serve starts one wizard per browser tab; --sim-state and --answers would be shared by all "
              "of them. Start without them (each tab keeps its own session folder).", file=sys.stderr)
        return 1
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(f"error: --host {args.host} is not a loopback address. Whoever reaches the page gets a wizard "
                  "running with this machine's Azure sign-in; add --allow-remote if that is what you want.",
                  file=sys.stderr)
            return 1
        print(f"WARNING: serving on {args.host}: anyone who can reach port {args.port} gets a wizard that acts with "
              "this machine's Azure identity" + (" (here: the simulated Azure of --simulate)" if args.simulate
                                                  else "") + ". Put it behind authentication, or use 127.0.0.1.",
              file=sys.stderr)
    from textual_serve.server import Server

    url = args.public_url or f"http://{args.host if ':' not in args.host else f'[{args.host}]'}:{args.port}"
    server = Server(wizard_command(args), host=args.host, port=args.port, title="aks-ai-wizard", public_url=url)
    print(f"Serving aks-ai-wizard{' (simulated Azure)' if args.simulate else ''} at {url}  (Ctrl+C stops)",
          flush=True)
    server.serve()
    return 0

"""The network. Azure CNI Overlay (AKS creates the VNet) or your own subnet, checked live with
preflight's own subnet item; outbound type; authorized IP ranges; a private API server and what it means."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Checkbox, Input, Select, Static

from screens.base import Rule, StepScreen
from screens.state import Draft
from screens.steps.common import _rules, set_answer, split_list, switch_row
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.failure import AzureFailure

PLUGINS = (("Azure CNI Overlay (default): pods take overlay addresses", "overlay"),
           ("Azure CNI: pods take addresses of the nodes' subnet", "azure"))
OUTBOUND = (("loadBalancer: the cluster's public load balancer (default)", "loadBalancer"),
            ("managedNATGateway: a NAT gateway AKS creates", "managedNATGateway"),
            ("userAssignedNATGateway: the NAT gateway on your subnet", "userAssignedNATGateway"),
            ("userDefinedRouting: your subnet's route table (firewall)", "userDefinedRouting"))
MARK = {"pass": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
NET = "cluster.network"


def check_ranges(value: str) -> str | None:
    """Authorized IP ranges as typed (comma-separated): each CIDR and the list by the model's own rules."""
    r = _rules()
    ranges = split_list(value)
    message: str | None = next((m for m in map(r.check_cidr, ranges) if m), None) or r.check_cidrs(ranges)
    return message


def checked_subnet(session: Any, probe: dict[str, Any], asked: str) -> tuple[str, Any]:
    """The facade's subnet check (in the worker), tagged with the network answers it was asked for."""
    from wizard.interactive import subnet_check

    return asked, subnet_check(session, probe)


class NetworkScreen(StepScreen):
    STEP = "network"

    def form(self) -> ComposeResult:
        d = self.draft
        plugin, mode = d.get(f"{NET}.plugin") or "azure", d.get(f"{NET}.plugin_mode", "overlay")
        options = [(Content(label), value) for label, value in PLUGINS]
        if plugin != "azure":  # kubenet or none from the file: kept as written, offered back
            options.append((Content(f"{plugin} (as the answers file says)"), plugin))
        chosen = plugin if plugin != "azure" else ("overlay" if mode == "overlay" else "azure")
        yield Field("Network plugin", Select(options, value=chosen, allow_blank=False, id="net-plugin", compact=True),
                    f"{NET}.plugin_mode", "Overlay: nodes take one subnet address each, pods none.")
        subnet = d.get(f"{NET}.vnet_subnet_id") or ""
        yield from switch_row("Put the nodes in your own VNet subnet", bool(subnet), "net-own",
                              "Off: AKS creates and manages the VNet.")
        yield Field("Subnet resource id", Input(subnet, id="net-subnet", compact=True,
                                                placeholder="/subscriptions/.../virtualNetworks/VNET/subnets/NAME",
                                                validators=[Rule(_rules().check_subnet_id)]),
                    f"{NET}.vnet_subnet_id", "Checked live: it exists, is not delegated, and has room for every "
                    "pool at its peak plus surge.")
        check = Static("", id="subnet-check", classes="check-result", markup=False)
        check.display = False
        yield check
        yield Field("Outbound type", Select([(Content(label), value) for label, value in OUTBOUND],
                                            value=d.get(f"{NET}.outbound_type") or "loadBalancer", allow_blank=False,
                                            id="net-outbound", compact=True), f"{NET}.outbound_type",
                    "The last two need your own subnet with that NAT gateway or route table on it.")
        ranges = d.get(f"{NET}.api_server.authorized_ip_ranges") or []
        yield Field("Authorized IP ranges", Input(", ".join(ranges), id="net-ranges", compact=True,
                                                  placeholder="empty: any address; e.g. 203.0.113.0/24, ...",
                                                  validators=[Rule(check_ranges, optional=True)]),
                    f"{NET}.api_server.authorized_ip_ranges", "IPv4 CIDRs allowed to reach a public API server.")
        yield from switch_row("Private API server (no public endpoint)", bool(d.get(f"{NET}.api_server.private")),
                              "net-private")
        yield Static("", id="private-note", classes="consequence", markup=False)

    def load(self) -> None:
        self._sync()

    # ------------------------------------------------------------------------------------------ answers
    def write(self, d: Draft) -> None:
        """The widgets into a draft (the step's own, or a probe for the live checks)."""
        mode = self.query_one("#net-plugin", Select).value
        if mode in ("overlay", "azure"):
            set_answer(d, f"{NET}.plugin", "azure")
            set_answer(d, f"{NET}.plugin_mode", "overlay" if mode == "overlay" else None)
        else:
            d.set(f"{NET}.plugin", mode)
        own = self.query_one("#net-own", Checkbox).value
        subnet = self.query_one("#net-subnet", Input).value.strip()
        set_answer(d, f"{NET}.vnet_subnet_id", subnet if own and subnet else None)
        set_answer(d, f"{NET}.outbound_type", self.query_one("#net-outbound", Select).value)
        set_answer(d, f"{NET}.api_server.authorized_ip_ranges", split_list(self.query_one("#net-ranges", Input).value))
        set_answer(d, f"{NET}.api_server.private", self.query_one("#net-private", Checkbox).value)

    def store(self) -> None:
        self.write(self.draft)

    def probe(self) -> dict[str, Any]:
        probe = Draft(self.draft.copy())
        self.write(probe)
        return probe.data

    # ------------------------------------------------------------------------------------------ live checks
    def _sync(self) -> None:
        own = self.query_one("#net-own", Checkbox).value
        self.query_one(f"#f-{NET.replace('.', '-')}-vnet_subnet_id").display = own
        from wizard.interactive import private_api_note

        note = self.query_one("#private-note", Static)
        note.update(private_api_note(self.probe()))
        note.display = bool(note.content)
        self._check_subnet()

    def _check_subnet(self) -> None:
        """Preflight's subnet item for the id as typed (a valid id only), read in a worker."""
        box = self.query_one("#subnet-check", Static)
        subnet = self.query_one("#net-subnet", Input)
        if not self.query_one("#net-own", Checkbox).value or _rules().check_subnet_id(subnet.value.strip()):
            box.display = False
            self.subnet_result = None
            return
        box.update(f"Checking subnet {subnet.value.strip().rsplit('/', 1)[-1]}...")
        box.display = True
        self.subnet_result = "checking"
        probe = self.probe()
        self.asked = repr(probe.get("cluster", {}).get("network"))
        self.fetch("the subnet", checked_subnet, self.state.session, probe, self.asked)

    def fetched(self, key: str, result: Any) -> None:
        asked, result = result
        if asked != getattr(self, "asked", None):
            return  # an earlier read that finished late: what is on screen now was asked since
        box = self.query_one("#subnet-check", Static)
        self.subnet_result = result
        if result is None:
            box.update("The subnet is checked once the other answers are complete (review checks it again).")
            return
        pools = "the pools answered so far" + ("" if self.draft.has("gpu_pool") or self.draft.has("gpu_pools") else
                                                " (the system pool; the GPU pools are counted in review)")
        text = f"{MARK.get(result.status, result.status)}  {result.detail}"
        if result.fix:
            text += f"\nfix: {result.fix}"
        box.update(f"{text}\nCounted with {pools}.")
        box.set_class(result.status == "fail", "-fail")

    def fetch_failed(self, key: str, failure: "AzureFailure") -> None:
        self.subnet_result = None
        self.query_one("#subnet-check", Static).update(f"Could not check the subnet: {failure.what}")

    @on(Checkbox.Changed, "#net-own, #net-private")
    @on(Select.Changed, "#net-plugin, #net-outbound")
    def _changed_choice(self) -> None:
        self._sync()

    @on(Input.Changed, "#net-subnet, #net-ranges")
    def _typed(self) -> None:
        self._sync()

    def ready(self) -> str | None:
        return "the subnet check has not finished yet" if getattr(self, "subnet_result", None) == "checking" else None

    def extra_checks(self) -> dict[str, str]:
        result = getattr(self, "subnet_result", None)
        if result is not None and result != "checking" and result.status == "fail":
            return {result.field or f"{NET}.vnet_subnet_id": result.detail + (f" Fix: {result.fix}" if result.fix
                                                                              else "")}
        return {}

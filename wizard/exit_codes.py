"""The one exit-code table of every command (the README's table and each `--help` epilog are made from it).

A cause has one code whichever command meets it: a usage error, a bad answers file, a local file that cannot be
read or written are all invalid input; a MUST requirement that did not pass is "not conformant" from `verify` and
from `apply`'s closing verification alike.
"""
from __future__ import annotations

OK = 0
INVALID = 1
PLAN = 2
AZURE = 3
NOT_CONFORMANT = 4
CHANGES = 5
INTERRUPTED = 130

TABLE: tuple[tuple[int, str, str], ...] = (  # code, short name (--help), meaning (README)
    (OK, "done", "done; `plan`: the plan can be applied (with --detailed-exitcode: and there is nothing to change); "
         "`verify`: every MUST requirement passed"),
    (INVALID, "invalid input", "invalid input: arguments (usage errors included), the answers file, a local file (--sim-state, "
              "--log-file, the journal, a kubeconfig), a subscription or cluster that does not exist, or another "
              "run holds the journal lock; nothing was written"),
    (PLAN, "the plan cannot be applied", "`plan`/`apply`: the plan or its preflight cannot be applied (version not offered, quota, SKU, an "
           "existing resource differs); nothing was written"),
    (AZURE, "an Azure operation failed", "an Azure operation or read failed, sign-in included (every command, "
           "`verify` and `gpu-sizes` too); the error is translated (what happened, why, what to do, the request id, "
           "and for a failed operation the request id of its PUT and the AKS operation id)"),
    (NOT_CONFORMANT, "a MUST requirement did not pass", "`verify`, and `apply`'s closing verification: a MUST requirement did not pass (for `apply` "
                     "only when conformance is required: `verify.require_conformance`, on by default)"),
    (CHANGES, "plan --detailed-exitcode: changes to apply", "`plan --detailed-exitcode`: the plan can be applied and has changes to make"),
    (INTERRUPTED, "interrupted", "interrupted (Ctrl-C); operations Azure accepted keep running there and are in the journal: "
                  "re-run to resume"),
)


def epilog() -> str:
    return "exit codes: " + ", ".join(f"{code} {short}" for code, short, _ in TABLE) + "."


def markdown_table() -> str:
    """The README's table (a test keeps the README equal to it)."""
    return "| code | meaning |\n|---|---|\n" + "\n".join(f"| {code} | {text} |" for code, _, text in TABLE)


class InvalidInput(Exception):
    """A local problem the user can fix (an argument, a file): exit INVALID with what to do, never a traceback."""

    def __init__(self, what: str, action: str, field: str | None = None) -> None:
        super().__init__(what)
        self.what, self.action, self.field = what, action, field

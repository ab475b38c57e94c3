"""Where a command's output goes, so that CI can trust it.

With `--output json` stdout holds only JSON: one object per line, each with a `kind` (an event stream is many
lines, a result one document), errors included; every word meant for people goes to stderr. With text output,
results go to stdout and diagnostics to stderr. `-q` keeps results and errors and drops progress.
The shape of each kind is a JSON Schema in wizard/output_schemas (`schema_for(kind)`).
"""
from __future__ import annotations

import json
import sys
import threading
from importlib import resources
from typing import TYPE_CHECKING, Any, TextIO

from wizard import exit_codes
from wizard.events import log as events_log

if TYPE_CHECKING:
    from wizard.failure import AzureFailure

KINDS = ("plan", "event", "result", "verification", "teardown-plan", "gpu-sizes", "error", "fleet-plan",
         "fleet-verification")


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of one output kind (shipped as package data)."""
    text = resources.files("wizard.output_schemas").joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def output_option(parser: Any) -> None:
    """--output, the same on every command."""
    parser.add_argument("--output", choices=("text", "json"), default="text",
                        help="text for people; json: only JSON on stdout, one object per line with a kind "
                             "(an event stream is many lines, a result one), human text on stderr")


def wants_json(argv: list[str]) -> bool:
    """--output json as typed, for errors met before the arguments are parsed (usage errors)."""
    return any(a == "--output=json" or (a == "--output" and i + 1 < len(argv) and argv[i + 1] == "json")
               for i, a in enumerate(argv))


class Output:
    def __init__(self, json_mode: bool = False, quiet: bool = False, stdout: TextIO | None = None,
                 stderr: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._lock = threading.Lock()  # steps emit from worker threads

    def _write(self, stream: TextIO, text: str) -> None:
        with self._lock:
            stream.write(text + "\n")
            stream.flush()

    def doc(self, kind: str, body: dict[str, Any]) -> None:
        """One JSON object of `kind` on stdout (JSON mode only)."""
        if self.json_mode:
            self._write(self.stdout, json.dumps({"kind": kind, **body}, default=str))

    def result(self, text: str) -> None:
        """Text a person reads as the outcome: stdout in text mode, stderr beside JSON."""
        self._write(self.stderr if self.json_mode else self.stdout, text)

    def progress(self, text: str) -> None:
        """Text about the way there (plan listings, per-step lines); dropped by -q."""
        if not self.quiet:
            self.result(text)

    def note(self, text: str) -> None:
        """A diagnostic: always stderr."""
        self._write(self.stderr, text)

    def fail(self, code: int, what: str, action: str, *, why: str = "", category: str = "invalid-input",
             field: str | None = None, failure: "AzureFailure | None" = None) -> int:
        """An error the user can act on: a JSON `error` document (JSON mode) and the words on stderr. Returns code."""
        body = failure.to_dict() if failure is not None else _local_error(category, what, why, action, field)
        self.doc("error", {"exit_code": code, **body})
        words = failure.render() if failure is not None else (
            f"error: {what}" + (f"\n{why}" if why else "") + (f"\nWhat to do: {action}" if action else ""))
        self.note(words)
        events_log.error("exit %d: %s", code, words)  # --log-file keeps what the user was told
        return code

    def failure(self, exc: BaseException, prefix: str = "") -> int:
        """An exception turned into its exit code and words: a local problem is invalid input; one from Azure
        (or the simulator) is translated (what happened, what to do, request ids), and a subscription that does
        not exist is invalid input too, from every command."""
        from wizard.azure.errors import translate

        if isinstance(exc, exit_codes.InvalidInput):
            return self.fail(exit_codes.INVALID, exc.what, exc.action, field=exc.field)
        failure = translate(exc)
        if prefix:
            failure.what = f"{prefix}: {failure.what}"
        code = exit_codes.INVALID if failure.category in ("subscription", "config") else exit_codes.AZURE
        return self.fail(code, failure.what, failure.action, failure=failure)

    def interrupted(self) -> int:
        """Ctrl-C: one line (and one `error` document), never a traceback."""
        action = "run the same command again to resume; operations Azure accepted keep running there"
        self.doc("error", {"exit_code": exit_codes.INTERRUPTED,
                           **_local_error("interrupted", "interrupted", "", action, None)})
        self.note(f"interrupted: {action}")
        return exit_codes.INTERRUPTED


def _local_error(category: str, what: str, why: str, action: str, field: str | None) -> dict[str, Any]:
    """An error met here, not in Azure: the same fields as a translated AzureFailure, without request ids."""
    return {"category": category, "code": None, "what": what, "why": why, "action": action, "request_id": None,
            "correlation_id": None, "status": None, "message": "", "fix_field": field}

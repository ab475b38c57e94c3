"""The review step: the resolved plan with its az equivalents, differences, read-only checks; save answers; Start."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Collapsible, Input, Static

from screens.base import NEXT, StepScreen
from screens.state import step_for_path, step_info
from screens.steps import switch_row
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.plan_model import Plan

RECREATE_LABEL = "Delete the failed cluster and create it again"
MARK = {"create": "+", "update": "~", "register": "+", "retry": "~", "recreate": "!", "attach": "=", "read": ".", "skip": "="}


def plan_lines(plan: "Plan") -> list[str]:
    """Each step with its typical Azure duration and differences; the az commands are in az_script()."""
    from wizard.render import fmt_seconds

    out: list[str] = []
    for s in plan.steps:
        typical = f"  (Azure typically {fmt_seconds(s.typical)})" if s.typical and s.writes else ""
        out.append(f"{MARK.get(s.action, ' ')} {s.title}{typical}")
        if s.reason and s.action == "skip":
            out.append(f"    = {s.reason}")
        for d in s.differences:
            out.append(f"    differs: {d}")
    return out


def az_script(plan: "Plan") -> str:
    """The plan's az equivalents as a shell script: whole commands, one per line, never wrapped."""
    lines = ["#!/bin/sh", f"# az equivalents of the aks-ai-wizard plan for cluster {plan.answers.cluster.name}",
             "# (what the wizard does through the Azure SDK; for reading and reuse)", "set -e"]
    for s in plan.steps:
        if s.az and s.writes:
            lines += ["", f"# {s.title}", *s.az.splitlines()]
    return "\n".join(lines) + "\n"


def attention_lines(report: Any, width: int = 70) -> list[str]:
    """Failing and warning preflight items first, each with its facts and fix, wrapped to `width` with a
    hanging indent (so a wrapped line never reads as a new item)."""
    import textwrap

    out = []
    for item in sorted((i for i in report.items if i.status in ("fail", "warn")), key=lambda i: i.status != "fail"):
        head = f"{'FAIL' if item.status == 'fail' else 'warn'}  {item.title}"
        out += textwrap.wrap(head, width, subsequent_indent="      ", break_on_hyphens=False, break_long_words=False)
        for text in (item.detail, f"fix: {item.fix}" if item.fix else ""):
            if text:
                out += textwrap.wrap(text, width, initial_indent="      ", subsequent_indent="      ",
                                     break_on_hyphens=False, break_long_words=False)
    return out


def passed_lines(report: Any) -> list[str]:
    return [f"{'ok  ' if i.status == 'pass' else 'skip'}  {i.title}" for i in report.items
            if i.status in ("pass", "skip")]


def is_unknown_key(message: str) -> bool:
    return message.startswith("unknown key")


def staging_line(plan: "Plan") -> str:
    """Why the cluster is written more than once, and what that saves (a staged create while flags register)."""
    st = plan.staging
    if st is None or not st.staged:
        return ""
    from wizard.render import fmt_seconds

    held = ", ".join([*st.fields, *(f"GPU pool {p}" for p in st.pools)])
    return (f" The cluster takes {st.writes} writes instead of one: it is created while the preview flags register, "
            f"and {held} follow once they are; ready after typically {fmt_seconds(st.staged_seconds)} instead of "
            f"{fmt_seconds(st.single_seconds)}.")


def check_lines(plan: "Plan") -> list[str]:
    """What the read-only checks found (the Observed state the plan was built on)."""
    obs, r, a = plan.observed, plan.resolved, plan.answers
    out = [f"Subscription: {obs.subscription_name} ({obs.subscription_id})"]
    out.append(f"Resource group {a.resource_group.name}: " +
               (f"exists in {obs.group.get('location')}" if obs.group else f"not found; will be created in "
                                                                             f"{a.azure.location}"))
    if r is not None:
        out.append(f"Kubernetes {a.cluster.kubernetes_version} -> {r.kubernetes_version}" +
                   (f"; Istio {a.cluster.istio.revision} -> {r.istio_revision}" if r.istio_revision else ""))
    for flag, state in obs.flag_states.items():
        out.append(f"Preview flag {flag.split('/')[-1]}: {state}")
    out.append(f"Provider Microsoft.ContainerService: {obs.provider_state}")
    out.append(f"Cluster {a.cluster.name}: " + ("exists" if obs.cluster else "not found; will be created"))
    for note in plan.notes:
        out.append(f"note: {note}".replace("re-run with --recreate-failed", f"tick '{RECREATE_LABEL}'"))
    return out


class ReviewScreen(StepScreen):
    STEP = "review"
    NEXT_LABEL = "Start"
    BINDINGS = [Binding("ctrl+o", "az_commands", "az commands")]

    def form(self) -> ComposeResult:
        yield Static("Resolving the plan against Azure (read-only)...", id="review-status", markup=False)
        yield Vertical(id="problems")
        preflight = Static("", id="preflight", classes="panel attention", markup=False)
        preflight.display = False
        yield preflight  # failures and warnings only; what passed is folded below
        skip = Checkbox("Start even though preflight items fail", id="skip-preflight", compact=True)
        skip.display = False
        yield skip
        yield Static("", id="plan", classes="panel", markup=False)
        settings = Static("", id="settings", classes="panel", markup=False)
        settings.display = False
        yield settings
        with Collapsible(title="Read-only checks and passed preflight items", collapsed=True, id="fold"):
            yield Static("", id="checks", markup=False)
            yield Static("", id="passed", markup=False)
        yield from switch_row("Allow updates to a cluster or pool that exists with different settings",
                              self.state.allow_update, "allow-update")
        with Horizontal(classes="save-row"):
            yield Field("Save answers to", Input(str(self.state.save_path), id="save-path", compact=True), "save_path",
                        "Secret-free YAML; replay with: aks-ai-wizard apply FILE")
            yield Button("Save answers", id="save", compact=True)

    def load(self) -> None:
        self.query_one("#next", Button).disabled = True
        self.state.plan = None
        errors = self.draft.errors()
        self.query_one("#plan").display = not errors  # no empty boxes while there is no plan
        self.query_one("#settings").display = False
        self.query_one("#fold").display = not errors
        if errors:
            self._show_problems([(e.path, e.message, "") for e in errors])
            self.query_one("#review-status", Static).update("Some answers are missing or invalid:")
            return
        from wizard.interactive import journal_for, preview

        answers = self.draft.to_answers()
        self.query_one("#plan").loading = True
        self.fetch("the plan", preview, self.state.session, answers, journal_for(self.save_path()),
                   self.state.allow_update, self.state.recreate_consent == self.cluster_key(answers))

    @staticmethod
    def cluster_key(answers: Any) -> tuple[str, str]:
        return answers.resource_group.name.lower(), answers.cluster.name.lower()

    def show_recreate(self, plan: "Plan") -> None:
        """Offer the consent only when the cluster exists and is Failed; it stays tied to that cluster."""
        from wizard.interactive import failed_cluster

        step = failed_cluster(plan)
        rows = self.query("#recreate-row")
        if step is None:
            rows.remove()
            return
        value = step.action == "recreate"
        if rows:
            box = self.query_one("#recreate-failed", Checkbox)
            with self.prevent(Checkbox.Changed):
                box.value = value
            return
        # mounted only when there is a failed cluster, below the allow-updates switch
        from textual.content import Content

        row = Vertical(Checkbox(Content(RECREATE_LABEL), value=value, id="recreate-failed", compact=True),
                       Static("Off (default): send the same PUT again, which reconciles most failures and deletes "
                              "nothing. On: the failed cluster and everything on it are deleted first.",
                              classes="field-hint", markup=False),
                       classes="switch-row", id="recreate-row")
        anchor = self.query_one("#allow-update").parent
        assert isinstance(anchor, Widget) and isinstance(anchor.parent, Widget)
        anchor.parent.mount(row, after=anchor)

    def save_path(self) -> Path:
        value = self.query_one("#save-path", Input).value.strip()
        return Path(value) if value else self.state.save_path

    def fetched(self, key: str, result: Any) -> None:
        if key == "preflight":
            self.show_preflight(result)
            return
        plan = result
        self.state.plan = plan
        self.query_one("#plan").loading = False
        self.query_one("#plan").border_title = "Plan"
        from wizard.interactive import conformance_forecast

        self.query_one("#plan").border_subtitle = "^o az commands"
        self.query_one("#checks", Static).update("\n".join(check_lines(plan)) + "\n\n" +
                                                 conformance_forecast(plan.answers).text())
        from screens.summary import settings_lines

        settings = self.query_one("#settings", Static)
        settings.border_title = "Network, identity, GPU pools"
        settings.update("\n".join(settings_lines(plan.answers)))
        settings.display = True
        writes = sum(1 for s in plan.steps if s.writes)
        self.show_recreate(plan)
        deletes = (f"The failed cluster {plan.answers.cluster.name} is deleted first, then created again."
                   if any(s.action == "recreate" for s in plan.steps) else "Nothing is deleted.")
        rest = ("\n\nThen, in the same run: once the provider is registered, the wizard reads the versions, Istio "
                "revisions and cluster it hid, and plans and runs the cluster and add-on steps (preflight again "
                "first)." if plan.awaits_provider else "")
        self.query_one("#plan", Static).update(
            "\n".join(plan_lines(plan)) + rest +
            f"\n\n{writes} step(s) write to Azure; {len(plan.steps) - writes} read or skip. {deletes}"
            + staging_line(plan))
        if plan.problems:
            self.query_one("#review-status", Static).update("This plan cannot be applied yet:")
            self._show_problems([(p.field, p.message, p.fix) for p in plan.problems])
        else:
            from wizard.interactive import preflight

            self.query_one("#review-status", Static).update("Running the read-only preflight checks...")
            self.fetch("preflight", preflight, self.state.session, plan.answers, plan)

    def show_preflight(self, report: Any) -> None:
        self.preflight_report = report
        if report is not None:
            c = report.counts()
            attention = attention_lines(report, max(30, (self.size.width or 80) - 10))
            box = self.query_one("#preflight", Static)
            box.border_title = f"Preflight: {c['fail']} failed, {c['warn']} warning(s)"
            box.update("\n".join(attention))
            box.display = bool(attention)
            self.query_one("#passed", Static).update(
                f"\nPreflight in {report.location}: {c['pass']} passed, {c['skip']} skipped\n" +
                "\n".join(passed_lines(report)) +
                (f"\ncost  GPU pool: {report.estimate.get('text', '')}" if report.estimate else ""))
            self.query_one("#fold", Collapsible).title = (
                f"Read-only checks and {c['pass']} passed preflight items (Enter to unfold)")
        if report is not None and not report.ok:
            self.query_one("#review-status", Static).update(
                "Some preflight items fail (see below): fix them, or tick the box to start anyway.")
            self.query_one("#skip-preflight").display = True
        else:
            self.query_one("#review-status", Static).update(
                "Ready. Start runs these steps; the answers are saved first (the journal lives beside them).")
        self.query_one("#next", Button).disabled = False
        self.query_one("#next", Button).focus()

    def fetch_failed(self, key: str, failure: Any) -> None:
        if key == "preflight":
            self.show_preflight(None)
            super().fetch_failed(key, failure)
            return
        self.query_one("#plan").loading = False
        self.query_one("#review-status", Static).update("Reading Azure failed:")
        super().fetch_failed(key, failure)

    def _show_problems(self, problems: list[tuple[str, str, str]]) -> None:
        box = self.query_one("#problems", Vertical)
        box.remove_children()
        seen: set[str] = set()
        for i, (path, message, fix) in enumerate(problems):
            step = step_for_path(path)
            text = f"x {path or 'answers'}: {message}" + (f"\n  fix: {fix}" if fix else "")
            row = Horizontal(classes="problem")
            box.mount(row)
            row.mount(Static(text, classes="problem-text", markup=False))
            if is_unknown_key(message):  # no step has a field for it: the way out is to drop it
                row.mount(Button("Drop it", id=f"drop-{i}", classes="drop", compact=True))
                row.drop_path = path  # type: ignore[attr-defined]
            elif step not in ("review", self.STEP) and step not in seen:
                seen.add(step)
                row.mount(Button(f"Go to {step_info(step).title}", id=f"goto-{step}", classes="goto", compact=True))

    def action_az_commands(self) -> None:
        plan = self.state.plan
        if plan is None:
            self.app.bell()
            return
        from screens.modals import TextModal

        self.app.push_screen(TextModal("az equivalents", az_script(plan), self.state.beside(".az.sh"),
                                       "Whole commands, never wrapped: copy them all, or save them as a script."))

    @on(Button.Pressed, ".drop")
    def _drop(self, event: Button.Pressed) -> None:
        """Remove a key the answers model does not know from the draft (the file changes only when saved)."""
        event.stop()
        path = getattr(event.button.parent, "drop_path", "")
        self.draft.delete(path)
        self.notify(f"Dropped {path} from the answers; the file keeps it until you save.", markup=False)
        self.query_one("#problems", Vertical).remove_children()
        self.load()

    @on(Button.Pressed, ".goto")
    def _goto(self, event: Button.Pressed) -> None:
        event.stop()
        assert event.button.id
        self.goto(event.button.id.removeprefix("goto-"))

    @on(Checkbox.Changed, "#allow-update")
    def _allow(self, event: Checkbox.Changed) -> None:
        self.state.allow_update = event.value
        self.query_one("#problems", Vertical).remove_children()
        self.load()

    @on(Checkbox.Changed, "#recreate-failed")
    def _recreate(self, event: Checkbox.Changed) -> None:
        event.stop()
        answers = self.draft.to_answers()
        self.state.recreate_consent = self.cluster_key(answers) if event.value else None
        self.query_one("#problems", Vertical).remove_children()
        self.load()

    def save(self) -> Path | None:
        path = self.save_path()
        app: Any = self.app
        error = app.save_answers(path)
        if error:
            self.show_errors({"save_path": error})
            return None
        said = app.saved_words(path)
        self.set_status(said)
        self.notify(said, markup=False)
        return path

    @on(Button.Pressed, "#save")
    def _save(self, event: Button.Pressed) -> None:
        event.stop()
        self.save()

    def store(self) -> None:
        pass

    def action_next(self) -> None:
        plan = self.state.plan
        if plan is None or not plan.ok or self.query_one("#next", Button).disabled:
            self.app.bell()
            return
        report = getattr(self, "preflight_report", None)
        if report is not None and not report.ok and not self.query_one("#skip-preflight", Checkbox).value:
            self.show_errors({"": "preflight items fail: fix them, or tick 'Start even though preflight items "
                                  "fail'"})
            return
        self.state.skip_preflight = self.query_one("#skip-preflight", Checkbox).value
        recreate = next((s for s in plan.steps if s.action == "recreate"), None)
        if recreate is None:
            if self.save() is not None:
                self.dismiss(NEXT)
            return
        from screens.modals import ConfirmModal

        def chosen(yes: bool | None) -> None:
            if yes and self.save() is not None:
                self.dismiss(NEXT)

        name = plan.answers.cluster.name
        self.app.push_screen(ConfirmModal(
            f"Delete cluster {name} and create it again?",
            f"{recreate.title}.\n\nEverything on the failed cluster is lost. Choose 'Keep it' to go back and send "
            "the same PUT again instead (untick the box).", "Delete and recreate", "Keep it"), chosen)

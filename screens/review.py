"""Step 9: the resolved plan with its az equivalents, differences, read-only checks; save answers; Start."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Static

from screens.base import NEXT, StepScreen
from screens.state import step_for_path, step_info
from screens.steps import switch_row
from screens.widgets import Field

if TYPE_CHECKING:
    from wizard.plan import Plan

RECREATE_LABEL = "Delete the failed cluster and create it again"
MARK = {"create": "+", "update": "~", "register": "+", "retry": "~", "recreate": "!", "attach": "=", "read": ".", "skip": "="}


def plan_lines(plan: "Plan") -> list[str]:
    from wizard.render import fmt_seconds

    out: list[str] = []
    for s in plan.steps:
        typical = f"  (typically {fmt_seconds(s.typical)})" if s.typical and s.writes else ""
        out.append(f"{MARK.get(s.action, ' ')} {s.title}{typical}")
        if s.reason and s.action == "skip":
            out.append(f"    = {s.reason}")
        for d in s.differences:
            out.append(f"    differs: {d}")
        for line in (s.az or "").splitlines():
            out.append(f"    $ {line}")
    return out


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

    def form(self) -> ComposeResult:
        yield Static("Resolving the plan against Azure (read-only)...", id="review-status", markup=False)
        yield Vertical(id="problems")
        yield Static("", id="checks", classes="panel", markup=False)
        preflight = Static("", id="preflight", classes="panel", markup=False)
        preflight.display = False
        yield preflight
        skip = Checkbox("Start even though preflight items fail", id="skip-preflight", compact=True)
        skip.display = False
        yield skip
        yield Static("", id="plan", classes="panel", markup=False)
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
        assert anchor is not None and anchor.parent is not None
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
        self.query_one("#checks").border_title = "Read-only checks"
        self.query_one("#plan").border_title = "Plan"
        from wizard.interactive import conformance_forecast

        self.query_one("#checks", Static).update("\n".join(check_lines(plan)) + "\n\n" +
                                                 conformance_forecast(plan.answers).text())
        writes = sum(1 for s in plan.steps if s.writes)
        self.show_recreate(plan)
        deletes = (f"The failed cluster {plan.answers.cluster.name} is deleted first, then created again."
                   if any(s.action == "recreate" for s in plan.steps) else "Nothing is deleted.")
        self.query_one("#plan", Static).update(
            "\n".join(plan_lines(plan)) +
            f"\n\n{writes} step(s) write to Azure; {len(plan.steps) - writes} read or skip. {deletes}")
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
            box = self.query_one("#preflight", Static)
            box.border_title = "Preflight (read-only)"
            box.update(report.text())
            box.display = True
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
            if step not in ("review", self.STEP) and step not in seen:
                seen.add(step)
                row.mount(Button(f"Go to {step_info(step).title}", id=f"goto-{step}", classes="goto", compact=True))

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
        from wizard.answers import AnswersError, save_answers

        path = self.save_path()
        try:
            # an existing file is edited in place (comments kept) and left untouched when it holds these answers
            wrote = save_answers(self.draft.to_answers(), path, self.draft.copy())
        except AnswersError as exc:
            self.show_errors({"": str(exc)})
            return None
        except OSError as exc:
            self.show_errors({"save_path": f"cannot write {path}: {exc.strerror or exc}"})
            return None
        self.state.answers_path = path
        self.state.saved_snapshot = self.draft.copy()
        said = f"Answers saved to {path}" if wrote else f"{path} already holds these answers (not rewritten)"
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

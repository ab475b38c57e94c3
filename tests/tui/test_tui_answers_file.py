"""The interactive wizard never rewrites the user's answers file: Start and Save leave a file that holds the
same answers byte for byte, and a change is saved into it keeping every comment (ruamel.yaml round trip)."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button

from tests.support.cli import copy_example
from tests.tui.test_tui_flow import SIZE, make_app, sign_in
from tests.support.tui import wait_for, wait_screen
from wizard.answers import load_answers

pytestmark = pytest.mark.timeout(120)


async def test_start_and_save_leave_a_commented_answers_file_as_it_was(tmp_path: Path) -> None:
    answers = copy_example(tmp_path)
    before = answers.read_bytes()
    assert b"# " in before  # the example is commented throughout
    app = make_app(tmp_path, answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        review = await wait_screen(pilot, "ReviewScreen")  # every step answered by the file
        await wait_for(pilot, lambda: app.state.plan is not None and not review.query_one("#next").disabled,
                       timeout=30, what="plan and preflight")
        await pilot.press("ctrl+s")
        review.query_one("#save", Button).press()  # the review's Save button (below the fold at this size)
        await wait_for(pilot, lambda: "already holds these answers" in str(review.query_one("#nav-status").render()),
                       what="the save's status")
        assert answers.read_bytes() == before
        await pilot.press("ctrl+n")  # Start
        await wait_screen(pilot, "RunScreen")
        assert answers.read_bytes() == before


def test_a_changed_answer_is_saved_into_the_file_keeping_its_comments(tmp_path: Path) -> None:
    from wizard.answers import answers_from_dict, load_partial, save_answers, save_partial

    answers = copy_example(tmp_path)
    before = answers.read_text()
    data, _ = load_partial(answers)
    data["cluster"]["system_pool"]["count"] = 3
    data["gpu_pool"].pop("labels", None)
    data["cluster"]["tags"] = {"team": "ml"}
    assert save_answers(answers_from_dict(data), answers, data) is True
    after = answers.read_text()
    comments = [line.split("#", 1)[1] for line in before.splitlines() if "#" in line]
    assert comments and all(c in after for c in comments if "labels" not in c)
    assert "count: 3" in after and "team: ml" in after
    assert load_answers(answers) == answers_from_dict(data)  # saved loads back to equal answers
    # saving the same again writes nothing; a partial save of the same mapping neither
    stamp = answers.stat().st_mtime_ns
    assert save_answers(answers_from_dict(data), answers, data) is False
    assert save_partial(load_partial(answers)[0], answers) is False
    assert answers.stat().st_mtime_ns == stamp

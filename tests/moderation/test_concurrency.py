"""Rules that bind under concurrency, with parallel clients (each its own connection and
transaction, released together): reports counted exactly and the item hidden exactly once, one
report per person even when sent twice at the same instant, and the hourly limits holding."""
import threading

from sqlalchemy import func, select

from app.accounts.models import User
from app.errors import DomainError
from app.extensions import db
from app.moderation.models import Action, ModerationDecision, ModerationReport
from app.moderation.reports import report
from pacts.models import Comment, Pact

from .conftest import case_of, comment


def _together(app, people, act) -> list:
    """Run act(user) for each person at the same moment, each in its own app context and
    transaction; return what each raised (None when it went through)."""
    ids = [person.id for person in people]
    db.session.commit()  # end the test's read snapshot so it sees what the threads write
    barrier, outcomes = threading.Barrier(len(ids)), [None] * len(ids)

    def run(n, user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.commit()
            barrier.wait()
            try:
                act(user)
            except DomainError as error:
                outcomes[n] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n, i)) for n, i in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    return outcomes


def test_reports_sent_at_once_are_all_counted_and_hide_the_item_once(app, scene):
    comment_id = scene.comment.id  # plain ids into the threads: the test's rows belong to its own session
    outcomes = _together(app, scene.reporters, lambda user: report(user, "pact_comment", comment_id, "abuse"))
    assert outcomes == [None] * len(scene.reporters)
    case = case_of("pact_comment", scene.comment.id)
    assert case.open_reports == len(scene.reporters) == len(case.reports)
    assert db.session.execute(select(func.count(ModerationDecision.id)).where(
        ModerationDecision.action == Action.HELD_AFTER_REPORTS)).scalar_one() == 1
    assert db.session.get(Comment, scene.comment.id).hidden_reason == ""


def test_one_person_reporting_twice_at_the_same_instant_reports_once(app, scene):
    person, comment_id = scene.reporters[0], scene.comment.id
    outcomes = _together(app, [person] * 4, lambda user: report(user, "pact_comment", comment_id, "spam"))
    assert sorted(getattr(o, "code", "ok") for o in outcomes) == ["already_reported"] * 3 + ["ok"]
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 1
    assert case_of("pact_comment", scene.comment.id).open_reports == 1


def test_comments_sent_at_once_stop_at_the_hourly_limit(app, scene):
    app.config["PROCOMUN_MODERATION_COMMENTS_PER_HOUR"] = 3
    writer, pact_id = scene.reporters[0], scene.pact.id
    outcomes = _together(app, [writer] * 6, lambda user: comment(
        db.session.get(Pact, pact_id), "Me too!", actor=user))
    assert sorted(getattr(o, "code", "ok") for o in outcomes) == ["ok"] * 3 + ["rate_limited"] * 3
    assert db.session.execute(select(func.count(Comment.id)).where(Comment.author_id == writer.id)).scalar_one() == 3


def test_reports_sent_at_once_stop_at_the_hourly_limit(app, scene, make_user):
    app.config["PROCOMUN_MODERATION_REPORTS_PER_HOUR"] = 2
    reporter = scene.reporters[0]
    targets = [comment(scene.pact, f"Comment {n}", actor=make_user()).id for n in range(5)]
    lock = threading.Lock()

    def next_target():
        with lock:
            return targets.pop()

    outcomes = _together(app, [reporter] * 5, lambda user: report(user, "pact_comment", next_target(), "spam"))
    assert sorted(getattr(o, "code", "ok") for o in outcomes) == ["ok"] * 2 + ["rate_limited"] * 3
    assert db.session.execute(select(func.count(ModerationReport.id))).scalar_one() == 2

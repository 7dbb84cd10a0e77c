"""The demo city's council tells a story its own rules allow: meetings convened before their time,
opened with their chair present and a quorum, every member present counted in each vote (by their
own vote or a show of hands), and results that follow the council's rules."""
from app import demo as core_demo
from app.database import utcnow
from councils import demo, meetings, minutes, motions
from councils import operations as councils
from councils.chairs import appointments_on
from councils.models import ChairRole, MeetingStatus, MotionStatus, TieRule, VoteRule


def test_the_demo_council_agrees_with_its_rules(app):
    demo.load(core_demo.load())
    demo.load(core_demo.load())  # twice, safely
    council = councils.council_by_slug("villanova-council")
    held = meetings.all_meetings(council)
    assert {m.status for m in held} == {MeetingStatus.CLOSED.value, MeetingStatus.SCHEDULED.value}
    hands_shown = 0
    for listed in held:
        meeting = meetings.meeting_detail(listed.id)
        assert meeting.created_at < meeting.starts_at, meeting.title  # convened before it met
        if meeting.status_enum is MeetingStatus.SCHEDULED:
            assert meeting.starts_at > utcnow() and not meeting.attendance
            continue
        offices = appointments_on(council, meeting.on)
        runners = {a.mandate_id for a in offices.values() if a is not None}
        present = {line.mandate_id for line in meeting.attendance if line.present}
        assert runners & present and meetings.quorum(meeting).met, meeting.title
        assert meeting.minutes
        for motion in meeting.motions:
            assert motion.status_enum in (MotionStatus.ADOPTED, MotionStatus.REJECTED)
            counts = motion.counts()
            # Every member of the meeting is in the count exactly once.
            assert sum(counts.values()) == len(meeting.attendance), motion.title
            assert counts["absent"] == len(meeting.attendance) - len(present)
            chair = offices[ChairRole.CHAIR]
            chair_option = next((v.option for v in motion.votes if v.mandate_id == chair.mandate_id), None)
            adopted, note = motions.decide(VoteRule(council.vote_rule), TieRule(council.tie_rule), counts,
                                           council.total_seats, chair_option)
            assert (motion.status_enum is MotionStatus.ADOPTED) is adopted and motion.result_note == note
            hands_shown += len(motion.hand_counts)
        # The minutes count as the motions do, show of hands included.
        record = minutes.minutes_record(meeting)
        assert [m.counts for m in record.motions] == [m.counts() for m in meeting.motions]
        if any(m.result_note == "tie" for m in meeting.motions):
            assert "tie" in meeting.minutes
    assert hands_shown == 1

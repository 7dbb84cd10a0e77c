"""The lives of a selection round, a meeting and a motion: one transition table each.
The operations check every move against these; the pages offer only the moves they allow."""
from app.states import StateMachine

from .models import ElectionStatus, MeetingStatus, MotionStatus

ELECTION = StateMachine({
    ElectionStatus.NOMINATING: {ElectionStatus.VOTING, ElectionStatus.CANCELLED},
    ElectionStatus.VOTING: {ElectionStatus.PUBLISHED, ElectionStatus.CANCELLED},
    ElectionStatus.PUBLISHED: set(),
    ElectionStatus.CANCELLED: set(),
}, labels={s: s.label for s in ElectionStatus})

MEETING = StateMachine({
    MeetingStatus.SCHEDULED: {MeetingStatus.IN_SESSION, MeetingStatus.CANCELLED},
    MeetingStatus.IN_SESSION: {MeetingStatus.CLOSED},
    MeetingStatus.CLOSED: set(),
    MeetingStatus.CANCELLED: set(),
}, labels={s: s.label for s in MeetingStatus})

# While a meeting is open its agenda, attendance and motions may change.
MEETING_OPEN = (MeetingStatus.SCHEDULED, MeetingStatus.IN_SESSION)
# Minutes are written once the meeting has opened, and corrected after it closes.
MINUTES_OPEN = (MeetingStatus.IN_SESSION, MeetingStatus.CLOSED)

MOTION = StateMachine({
    MotionStatus.PROPOSED: {MotionStatus.VOTING},
    MotionStatus.VOTING: {MotionStatus.ADOPTED, MotionStatus.REJECTED},
    MotionStatus.ADOPTED: set(),
    MotionStatus.REJECTED: set(),
}, labels={s: s.label for s in MotionStatus})

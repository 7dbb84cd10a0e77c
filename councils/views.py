"""Joint councils: public pages, the officials' desk, and the Chair's meeting room.

Small action forms on a page answer a refusal with a flash message and a
redirect back; full forms re-render with the input and the message beside the field."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.accounts.operations import is_official, user_by_email
from app.documents import pdf_response
from app.errors import DomainError
from app.forms import attach_error, validated
from app.i18n import city_timezone, city_today, reader_locale
from app.organisations import operations as organisations
from app.pagecache import cached_public_page
from app.security import public, roles_required

from . import bp, chairs, documents, elections, meetings, minutes, motions, needs, seats, terms
from . import moves as council_moves
from . import operations as ops
from .forms import (
    AgendaItemForm,
    AppointForm,
    AttendanceForm,
    BallotForm,
    CouncilForm,
    ElectionForm,
    EndMandateForm,
    MeetingForm,
    MinutesForm,
    MotionForm,
    NominationForm,
    PublishForm,
    SeatForm,
    StepDownForm,
    show_of_hands,
    show_of_hands_form,
)
from .ical import council_calendar, meeting_calendar
from .models import Side

officials = roles_required(Role.OFFICIAL, Role.ADMIN)
members = roles_required(Role.COUNCIL_MEMBER)
org_members = roles_required(Role.ORG_MEMBER)


def _refused(error: DomainError, target: str):
    flash(str(error.message), "error")
    return redirect(target)


def _done(message: str, target: str):
    flash(message, "success")
    return redirect(target)


# Councils ---------------------------------------------------------------------------------

@bp.route("/")
@public
def index():
    page = ops.councils(page=request.args.get("page", 1, type=int))
    return render_template("councils/index.html", module=bp, page=page, today=city_today(),
                           terms={c.id: terms.term_on(c, city_today()) for c in page.items},
                           needs=needs.priority_needs(), is_official=is_official(current_user))


@bp.route("/new", methods=["GET", "POST"])
@officials
def create():
    form = CouncilForm()
    if request.method == "GET":
        form.first_term_start.data = city_today()
    if form.validate_on_submit():
        try:
            council = ops.create_council(form.slug.data, actor=current_user, **form.values())
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(_("%(name)s is set up.", name=council.name), url_for(".show", slug=council.slug))
    return render_template("councils/council_form.html", form=form, council=None), 422 if form.errors else 200


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@officials
def edit(slug):
    council = ops.council_by_slug(slug)
    form = CouncilForm(obj=council)
    del form.slug
    if form.validate_on_submit():
        try:
            ops.update_council(council, actor=current_user, **form.values())
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(_("%(name)s is saved.", name=council.name), url_for(".show", slug=council.slug))
    return render_template("councils/council_form.html", form=form, council=council), 422 if form.errors else 200


@bp.route("/<slug>")
@public
@cached_public_page()
def show(slug):
    council = ops.council_by_slug(slug)
    today, official = city_today(), is_official(current_user)
    return render_template(
        "councils/show.html", council=council, today=today, term=terms.term_on(council, today),
        schedule=terms.schedule(council, 5, today), seats=seats.composition(council, today),
        offices=chairs.appointments_on(council, today), alerts=chairs.warnings(council, today),
        meetings=meetings.meetings_of(council, per_page=5).items, elections=elections.elections_of(council),
        needs=needs.priority_needs(council=council), step_down_form=StepDownForm(on=today),
        notices=meetings.notices_for(council, current_user if current_user.is_authenticated else None),
        is_official=official, moves=council_moves.moves(council, today) if official else {})


@bp.route("/<slug>/members")
@public
def members_page(slug):
    council = ops.council_by_slug(slug)
    return render_template("councils/members.html", council=council, history=seats.mandate_history(council),
                           terms=terms.terms_so_far(council), by_term=chairs.appointments_by_term(council),
                           is_official=is_official(current_user))


@bp.route("/<slug>/members/<int:user_id>")
@public
def member(slug, user_id):
    council = ops.council_by_slug(slug)
    mandates = seats.member_mandates(council, user_id)
    if not mandates:
        abort(404)
    return render_template("councils/member.html", council=council, person=mandates[0].user, mandates=mandates,
                           votes=motions.votes_of([m.id for m in mandates]))


@bp.route("/<slug>/seat", methods=["GET", "POST"])
@officials
def seat(slug):
    council = ops.council_by_slug(slug)
    form = SeatForm()
    form.organisation.choices = [("", _("Nobody in particular"))] + [
        (o.slug, o.name) for o in organisations.all_organisations()]
    if request.method == "GET":
        form.on.data = city_today()
        form.side.data = request.args.get("side", Side.GOVERNMENT.value)
    if form.validate_on_submit():
        try:
            org = organisations.organisation_by_slug(form.organisation.data) if form.organisation.data else None
            seats.seat_member(council, user_by_email(form.email.data), form.side.data, actor=current_user,
                              on=form.on.data, organisation=org)
        except DomainError as error:
            attach_error(form, error if error.field != "user" else type(error)(error.message, field="email"))
        else:
            return _done(_("The member is seated."), url_for(".show", slug=council.slug))
    return render_template("councils/seat.html", council=council, form=form), 422 if form.errors else 200


@bp.route("/mandates/<int:mandate_id>/end", methods=["GET", "POST"])
@officials
def end_mandate(mandate_id):
    mandate = seats.mandate_by_id(mandate_id)
    form = EndMandateForm()
    if request.method == "GET":
        form.on.data = city_today()
    if form.validate_on_submit():
        try:
            if form.email.data:
                seats.replace(mandate, user_by_email(form.email.data), actor=current_user, on=form.on.data,
                              reason=form.reason.data)
            else:
                seats.resign(mandate, actor=current_user, on=form.on.data, reason=form.reason.data)
        except DomainError as error:
            attach_error(form, error if error.field != "user" else type(error)(error.message, field="email"))
        else:
            return _done(_("The seat is updated."), url_for(".show", slug=mandate.council.slug))
    return render_template("councils/end_mandate.html", mandate=mandate, form=form), 422 if form.errors else 200


@bp.route("/<slug>/appoint", methods=["GET", "POST"])
@officials
def appoint(slug):
    council = ops.council_by_slug(slug)
    form = AppointForm()
    day = form.on.data if form.is_submitted() and form.on.data else city_today()
    form.mandate.choices = [(m.id, f"{m.user.name} ({m.side_enum.label})") for m in seats.mandates_on(council, day)]
    if request.method == "GET":
        form.on.data = day
        form.role.data = request.args.get("role", "chair")
    if form.validate_on_submit():
        try:
            chairs.appoint(council, form.role.data, seats.mandate_by_id(form.mandate.data), actor=current_user,
                           on=form.on.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(_("The office is filled."), url_for(".show", slug=council.slug))
    return render_template("councils/appoint.html", council=council, form=form,
                           term=terms.term_on(council, day)), 422 if form.errors else 200


@bp.route("/appointments/<int:appointment_id>/step-down", methods=["POST"])
@officials
def step_down(appointment_id):
    appointment = chairs.appointment_by_id(appointment_id)
    target = url_for(".show", slug=appointment.council.slug)
    form = StepDownForm()
    try:
        if not (form.on.raw_data and form.on.raw_data[0].strip()):
            raise DomainError(_("Give the date the office ends."))
        chairs.resign_office(appointment, actor=current_user, on=validated(form).on.data, reason=form.reason.data)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The office is vacant until a successor from the same side is named."), target)


@bp.route("/<slug>/composition.pdf")
@public
def composition_pdf(slug):
    council = ops.council_by_slug(slug)
    pdf = documents.composition_pdf(council, city_today(), reader_locale())
    return pdf_response(pdf, f"{council.slug}-composition.pdf")


@bp.route("/<slug>/calendar.ics")
@public
def council_ics(slug):
    council = ops.council_by_slug(slug)
    return council_calendar(council, meetings.all_meetings(council))


# Meetings ---------------------------------------------------------------------------------

@bp.route("/<slug>/meetings", endpoint="meetings")
@public
def meetings_page(slug):
    council = ops.council_by_slug(slug)
    return render_template("councils/meetings.html", council=council,
                           page=meetings.meetings_of(council, page=request.args.get("page", 1, type=int)))


@bp.route("/<slug>/meetings/new", methods=["GET", "POST"])
@officials
def schedule_meeting(slug):
    council = ops.council_by_slug(slug)
    form = MeetingForm()
    if request.method == "GET":
        form.locale.data = council.locale
    if form.validate_on_submit():
        starts_at = form.starts_at.data.replace(tzinfo=city_timezone())
        try:
            meeting = meetings.schedule_meeting(council, form.title.data, starts_at, actor=current_user,
                                                duration_minutes=form.duration_minutes.data,
                                                location=form.location.data, locale=form.locale.data,
                                                agenda=(form.agenda.data or "").splitlines())
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(_("The meeting is scheduled."), url_for(".meeting", meeting_id=meeting.id))
    return render_template("councils/meeting_form.html", council=council, form=form), 422 if form.errors else 200


def _meeting_page(meeting, motion_form=None, status=200, refused_attendance=None):
    moves = meetings.meeting_moves(meeting, current_user if current_user.is_authenticated else None)
    # The forms are built for the moves the page offers, and only those.
    attendance_form = AttendanceForm()
    if moves.record_attendance:
        attendance_form.present.choices = [(m.id, f"{m.user.name} ({m.side_enum.label})")
                                           for m in seats.mandates_on(meeting.council, meeting.on)]
        attendance_form.present.data = sorted(a.mandate_id for a in meeting.attendance if a.present)
        if refused_attendance:  # shown again as ticked, with the reason beside it
            attendance_form.present.data, error = refused_attendance
            attach_error(attendance_form, error)
    if motion_form is None and moves.propose_motion:
        motion_form = _motion_form(meeting)
    return render_template(
        "councils/meeting.html", meeting=meeting, council=meeting.council, moves=moves,
        quorum=meetings.quorum(meeting) if meeting.attendance else None, attendance_form=attendance_form,
        motion_form=motion_form, agenda_form=AgendaItemForm(),
        minutes_form=MinutesForm(minutes=meeting.minutes)), status


def _motion_form(meeting, formdata=None):
    form = MotionForm(formdata=formdata) if formdata is not None else MotionForm()
    form.agenda_item.choices = [(0, _("No particular item"))] + [(i.id, f"{i.position}. {i.title}")
                                                                  for i in meeting.agenda]
    form.need_category.choices = [("", _("None: an ordinary motion"))] + [
        (c.slug, c.name) for c in organisations.categories()]
    return form


@bp.route("/meetings/<int:meeting_id>")
@public
def meeting(meeting_id):
    return _meeting_page(meetings.meeting_detail(meeting_id))


@bp.route("/meetings/<int:meeting_id>/calendar.ics")
@public
def meeting_ics(meeting_id):
    return meeting_calendar(meetings.meeting_by_id(meeting_id))


@bp.route("/meetings/<int:meeting_id>/minutes.pdf")
@public
def minutes_pdf(meeting_id):
    meeting = minutes.meeting_for_minutes(meeting_id)
    if not meeting.minutes:
        abort(404)
    pdf = documents.minutes_pdf(meeting, reader_locale())
    return pdf_response(pdf, f"{meeting.council.slug}-minutes-{meeting.id}.pdf")


@bp.route("/meetings/<int:meeting_id>/<any(notice, cancel):action>", methods=["POST"])
@officials
def meeting_action(meeting_id, action):
    meeting = meetings.meeting_by_id(meeting_id)
    target = url_for(".meeting", meeting_id=meeting.id)
    try:
        if action == "notice":
            sent = meetings.send_notice(meeting, actor=current_user)
            message = _("Notice is recorded for %(count)s members.", count=len(sent))
        else:
            meetings.cancel_meeting(meeting, actor=current_user)
            message = _("The meeting is cancelled.")
    except DomainError as error:
        return _refused(error, target)
    return _done(message, target)


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@officials
def add_agenda_item(meeting_id):
    meeting = meetings.meeting_by_id(meeting_id)
    target = url_for(".meeting", meeting_id=meeting.id)
    form = AgendaItemForm()
    try:
        meetings.add_agenda_item(meeting, form.title.data or "", actor=current_user)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The item is on the agenda."), target)


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@members
def attendance(meeting_id):
    meeting = meetings.meeting_detail(meeting_id)
    target = url_for(".meeting", meeting_id=meeting.id)
    present = request.form.getlist("present", type=int)
    try:
        meetings.record_attendance(meeting, present, actor=current_user)
    except DomainError as error:
        if error.field != "present":
            return _refused(error, target)
        return _meeting_page(meetings.meeting_detail(meeting_id), status=422, refused_attendance=(present, error))
    return _done(_("Attendance is recorded."), target)


@bp.route("/meetings/<int:meeting_id>/motions", methods=["POST"])
@members
def propose_motion(meeting_id):
    meeting = meetings.meeting_detail(meeting_id)
    form = _motion_form(meeting, request.form)
    if form.validate_on_submit():
        try:
            category = organisations.category_by_slug(form.need_category.data) if form.need_category.data else None
            item = next((i for i in meeting.agenda if i.id == form.agenda_item.data), None)
            motions.propose_motion(meeting, form.title.data, actor=current_user, text=form.text.data, agenda_item=item,
                                   need_category=category, need_neighbourhood=form.need_neighbourhood.data or "",
                                   need_rank=form.need_rank.data, need_rationale=form.need_rationale.data or "")
        except DomainError as error:
            if error.status == 403:
                return _refused(error, url_for(".meeting", meeting_id=meeting.id))
            attach_error(form, error)
        else:
            return _done(_("The motion is put."), url_for(".meeting", meeting_id=meeting.id))
    return _meeting_page(meeting, motion_form=form, status=422)


@bp.route("/motions/<int:motion_id>")
@public
def motion(motion_id):
    motion = motions.motion_detail(motion_id)
    return render_template("councils/motion.html", motion=motion, meeting=motion.meeting,
                           council=motion.meeting.council, notes=motions.RESULT_NOTES)


@bp.route("/motions/<int:motion_id>/<any(open):action>", methods=["POST"])
@members
def motion_vote_state(motion_id, action):
    motion = motions.motion_by_id(motion_id)
    target = url_for(".meeting", meeting_id=motion.meeting_id)
    try:
        motions.open_vote(motion, actor=current_user)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The vote is open."), target)


def _close_vote_page(motion, form=None, status=200):
    unvoted = motions.unvoted(motion)
    named = motion.meeting.council.hand_votes_named
    return render_template("councils/close_vote.html", motion=motion, meeting=motion.meeting,
                           council=motion.meeting.council, unvoted=unvoted, named=named,
                           form=form or show_of_hands_form(unvoted, named)), status


@bp.route("/motions/<int:motion_id>/close", methods=["GET", "POST"])
@members
def close_vote(motion_id):
    """Closing asks first when members present have not voted: the page lists them, to confirm
    that they count as abstaining or to record their show of hands."""
    motion = motions.motion_detail(motion_id)
    try:
        motions.require_closer(motion, current_user)
    except DomainError as error:
        return _refused(error, url_for(".meeting", meeting_id=motion.meeting_id))
    if request.method == "GET":
        return _close_vote_page(motion)
    unvoted = motions.unvoted(motion)
    form = show_of_hands_form(unvoted, motion.meeting.council.hand_votes_named, request.form)
    hands = "hands" in request.form
    try:
        if hands and not form.validate_on_submit():
            return _close_vote_page(motion, form, 422)
        motions.close_vote(motion, actor=current_user, hands=show_of_hands(form, unvoted) if hands else None,
                           confirm=request.form.get("confirm") in ("1", "y"))
    except motions.UnvotedMembers as error:
        flash(str(error.message), "warning")
        return _close_vote_page(motions.motion_detail(motion_id), form if hands else None, 409 if hands else 200)
    except DomainError as error:
        if hands and error.field in form:
            attach_error(form, error)
            return _close_vote_page(motions.motion_detail(motion_id), form, 422)
        return _refused(error, url_for(".meeting", meeting_id=motion.meeting_id))
    return _done(_("The vote is closed: %(result)s.", result=motion.status_enum.label),
                 url_for(".meeting", meeting_id=motion.meeting_id))


@bp.route("/motions/<int:motion_id>/vote", methods=["POST"])
@members
def vote(motion_id):
    motion = motions.motion_by_id(motion_id)
    target = url_for(".meeting", meeting_id=motion.meeting_id)
    try:
        motions.cast_vote(motion, request.form.get("option", ""), actor=current_user)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("Your vote is recorded."), target)


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"], endpoint="minutes")
@members
def write_minutes(meeting_id):
    meeting = meetings.meeting_by_id(meeting_id)
    target = url_for(".meeting", meeting_id=meeting.id)
    form = MinutesForm()
    try:
        minutes.record_minutes(meeting, form.minutes.data or "", actor=current_user, close=bool(form.close.data))
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The minutes are saved."), target)


# Civil selection --------------------------------------------------------------------------

@bp.route("/<slug>/elections/new", methods=["GET", "POST"])
@officials
def open_election(slug):
    council = ops.council_by_slug(slug)
    vacant = len(seats.vacant_seats(council, Side.CIVIL))
    form = ElectionForm()
    if request.method == "GET":
        form.counting_rule.data = council.counting_rule
        form.seats.data = vacant or 1
    if form.validate_on_submit():
        try:
            election = elections.open_election(council, form.title.data, form.seats.data, actor=current_user,
                                               counting_rule=form.counting_rule.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            return _done(_("The selection round is open for nominations."),
                         url_for(".election", election_id=election.id))
    return render_template("councils/election_form.html", council=council, form=form,
                           move=council_moves.move(council, "open_election")), 422 if form.errors else 200


def _nomination_form(moves):
    form = NominationForm()
    form.organisation.choices = [(o.id, o.name) for o in moves.organisations]
    return form


def _election_page(election, moves, nomination_form=None, status=200):
    candidacies = election.candidacies
    ballot_form = BallotForm()
    ballot_form.organisation.choices = [(o.id, o.name) for o in moves.organisations]
    ballot_form.candidates.choices = [(c.id, f"{c.user.name} ({c.organisation.name})") for c in candidacies]
    return render_template("councils/election.html", election=election, council=election.council, moves=moves,
                           candidacies=candidacies, results=elections.published_results(election),
                           voters=elections.voted_organisations(election),
                           eligible=elections.eligible_organisations(election.council),
                           nomination_form=nomination_form or _nomination_form(moves), ballot_form=ballot_form,
                           publish_form=PublishForm(seat_from=city_today())), status


@bp.route("/elections/<int:election_id>")
@public
def election(election_id):
    election = elections.election_by_id(election_id)
    return _election_page(election, elections.election_moves(election, current_user))


@bp.route("/elections/<int:election_id>/nominate", methods=["POST"])
@org_members
def nominate(election_id):
    election = elections.election_by_id(election_id)
    target = url_for(".election", election_id=election.id)
    moves = elections.election_moves(election, current_user)
    form = _nomination_form(moves)
    if form.validate_on_submit():
        try:
            elections.nominate(election, elections.voting_organisation(current_user, form.organisation.data),
                               user_by_email(form.email.data), actor=current_user, statement=form.statement.data)
        except DomainError as error:
            # A refusal about no field (nominations closed, not your organisation) is not the form's to show.
            if error.field is None:
                return _refused(error, target)
            # The candidate is the person the email names.
            attach_error(form, error if error.field != "candidate" else type(error)(error.message, field="email"))
        else:
            return _done(_("The candidate is nominated."), target)
    return _election_page(election, moves, nomination_form=form, status=422)


@bp.route("/elections/<int:election_id>/ballot", methods=["POST"])
@org_members
def ballot(election_id):
    election = elections.election_by_id(election_id)
    target = url_for(".election", election_id=election.id)
    try:
        organisation = elections.voting_organisation(current_user, request.form.get("organisation", type=int))
        elections.cast_ballot(election, organisation, request.form.getlist("candidates", type=int), actor=current_user)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The ballot is cast. It is secret: only the totals will be published."), target)


@bp.route("/elections/<int:election_id>/<any(voting, publish, cancel):action>", methods=["POST"])
@officials
def election_action(election_id, action):
    election = elections.election_by_id(election_id)
    target = url_for(".election", election_id=election.id)
    try:
        if action == "voting":
            elections.open_voting(election, actor=current_user)
        elif action == "publish":
            form = PublishForm()
            typed = form.seat_from.raw_data and form.seat_from.raw_data[0].strip()
            elections.publish_results(election, actor=current_user,
                                      seat_from=validated(form).seat_from.data if typed else city_today())
        else:
            elections.cancel_election(election, actor=current_user)
    except DomainError as error:
        return _refused(error, target)
    return _done(_("The selection round is now: %(status)s.", status=election.status_enum.label), target)


from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from app.blueprints.inputs import (
    ColumnText,
    DecimalField,
    IdMultipleField,
    IdSelectField,
    LocalDateTimeField,
    WholeNumberField,
)
from app.models import Dispatch, DispatchPriority, DispatchStatusHistory, WorkType
from app.services.dispatch_creation import horizon_hint
from app.services.dispatches import BULK_TARGETS

WORK_TYPE_CHOICES = [SelectChoice(WorkType.OPERATION.value, "Operation"), SelectChoice(WorkType.REPAIR.value, "Repair")]


_TITLE = ColumnText(Dispatch, "title")
_DESCRIPTION = ColumnText(Dispatch, "description")
_REASON = ColumnText(DispatchStatusHistory, "change_reason", multiline=False)


class DispatchForm(FlaskForm):
    asset_id = IdSelectField("Asset", validators=[DataRequired(message="Choose the asset to work on.")],
                             validate_choice=False)
    title = StringField("Title", description=_TITLE.hint,
                        validators=[DataRequired(message="Say in a few words what is to be done."), _TITLE])
    description = TextAreaField("Description", description=_DESCRIPTION.hint, validators=[Optional(), _DESCRIPTION])
    work_type = SelectField("Work type", choices=WORK_TYPE_CHOICES, default=WorkType.OPERATION.value)
    priority = SelectField("Priority", choices=[p.value for p in DispatchPriority], default="Normal")
    due_date = LocalDateTimeField("Due", description=horizon_hint(), validators=[Optional()])
    required_skill = SelectField("Required skill", validators=[Optional()])
    estimated_duration_hours = DecimalField("Estimated hours", minimum=0.1, maximum=1000, validators=[Optional()])
    submit = SubmitField("Create work order")


class StatusForm(FlaskForm):
    """One status button of the dispatch page or of My work."""

    status = StringField("Status", validators=[InputRequired()])
    reason = StringField("Reason", description=_REASON.hint, validators=[Optional(), _REASON])
    return_to = HiddenField()
    #: The dispatch's version when the page was shown; a later change makes this a conflict.
    version = HiddenField()


class AssignForm(FlaskForm):
    technician_id = WholeNumberField("Technician", minimum=1, validators=[InputRequired(message="Choose a technician.")])
    reason = StringField("Reason", description=_REASON.hint, validators=[Optional(), _REASON])
    version = HiddenField()


class BulkStatusForm(FlaskForm):
    dispatch_ids = IdMultipleField("Dispatches", validate_choice=False,
                                   validators=[DataRequired(message="Select at least one dispatch.")])
    status = SelectField("New status", choices=[str(s) for s in BULK_TARGETS],
                         validators=[InputRequired(message="Choose the new status.")])
    reason = StringField("Reason", description=_REASON.hint, validators=[Optional(), _REASON])
    next = HiddenField()


class PositionForm(FlaskForm):
    """"Share my location" on My work: filled in by app.js from the browser's Geolocation API."""

    latitude = HiddenField()
    longitude = HiddenField()
    accuracy_m = HiddenField()
    #: When the device took the fix, in milliseconds since 1970 (the API's own ``timestamp``).
    taken_at_ms = HiddenField()

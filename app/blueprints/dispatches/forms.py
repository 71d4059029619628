from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.models import DispatchPriority, WorkType
from app.services.dispatches import BULK_TARGETS

WORK_TYPE_CHOICES = [SelectChoice(WorkType.OPERATION.value, "Operation"), SelectChoice(WorkType.REPAIR.value, "Repair")]


class DispatchForm(FlaskForm):
    asset_id = SelectField("Asset", coerce=int, validators=[DataRequired(message="Choose the asset to work on.")],
                           validate_choice=False)
    title = StringField("Title", validators=[DataRequired(message="Say in a few words what is to be done."),
                                             Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    work_type = SelectField("Work type", choices=WORK_TYPE_CHOICES, default=WorkType.OPERATION.value)
    priority = SelectField("Priority", choices=[p.value for p in DispatchPriority], default="Normal")
    due_date = DateTimeLocalField("Due (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    required_skill = SelectField("Required skill", validators=[Optional()])
    estimated_duration_hours = FloatField(
        "Estimated hours", validators=[Optional(), NumberRange(min=0.1, max=1000, message="Between 0.1 and 1000 hours.")]
    )
    submit = SubmitField("Create work order")


class StatusForm(FlaskForm):
    """One status button of the dispatch page or of My work."""

    status = StringField("Status", validators=[InputRequired()])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    return_to = HiddenField()
    #: The dispatch's version when the page was shown; a later change makes this a conflict.
    version = HiddenField()


class AssignForm(FlaskForm):
    technician_id = IntegerField("Technician", validators=[InputRequired(message="Choose a technician.")])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    version = HiddenField()


class BulkStatusForm(FlaskForm):
    dispatch_ids = SelectMultipleField("Dispatches", coerce=int, validate_choice=False,
                                       validators=[DataRequired(message="Select at least one dispatch.")])
    status = SelectField("New status", choices=[str(s) for s in BULK_TARGETS],
                         validators=[InputRequired(message="Choose the new status.")])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    next = HiddenField()

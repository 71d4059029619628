from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, FloatField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.models import DispatchPriority


class DispatchForm(FlaskForm):
    asset_id = SelectField("Asset", coerce=int, validators=[DataRequired(message="Choose the asset to work on.")])
    title = StringField("Title", validators=[DataRequired(message="Say in a few words what is to be done."),
                                             Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    priority = SelectField("Priority", choices=[p.value for p in DispatchPriority], default="Normal")
    due_date = DateTimeLocalField("Due (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    required_skill = SelectField("Required skill", validators=[Optional()])
    estimated_duration_hours = FloatField(
        "Estimated hours", validators=[Optional(), NumberRange(min=0.1, max=1000, message="Between 0.1 and 1000 hours.")]
    )
    submit = SubmitField("Create dispatch")

"""Admin forms: they parse and bound what is typed; the services decide what is allowed."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from app.services.users import MIN_PASSWORD_LENGTH, ROLES


def _required(what: str) -> DataRequired:
    return DataRequired(message=f"{what} is required.")


class AssetTypeForm(FlaskForm):
    name = StringField("Name", validators=[_required("A name"), Length(max=100)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    default_skill = SelectField("Default skill for its dispatches", validators=[Optional()])
    submit = SubmitField("Save")


class MakeModelForm(FlaskForm):
    make = StringField("Make", validators=[_required("A make"), Length(max=100)])
    model = StringField("Model", validators=[_required("A model"), Length(max=100)])
    asset_type_id = SelectField("Asset type", coerce=int,
                                validators=[DataRequired(message="Choose the asset type.")])
    submit = SubmitField("Save")


class LocationForm(FlaskForm):
    name = StringField("Name", validators=[_required("A name"), Length(max=200)])
    address = StringField("Address", validators=[Optional(), Length(max=500)])
    latitude = FloatField("Latitude (−90 to 90)", validators=[Optional()])
    longitude = FloatField("Longitude (−180 to 180)", validators=[Optional()])
    submit = SubmitField("Save")


class AssetForm(FlaskForm):
    asset_tag = StringField("Asset tag", validators=[_required("An asset tag"), Length(max=50)])
    name = StringField("Name", validators=[_required("A name"), Length(max=200)])
    asset_type_id = SelectField("Asset type", coerce=int,
                                validators=[DataRequired(message="Choose the asset type.")])
    make_model_id = SelectField("Make / model", coerce=int)
    major_location_id = SelectField("Location", coerce=int)
    odometer = FloatField("Odometer", validators=[Optional()])
    submit = SubmitField("Save")


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[_required("An email address"), Length(max=254)])
    name = StringField("Name", validators=[_required("A name"), Length(max=200)])
    role = SelectField("Role", choices=ROLES, default="technician")
    password = PasswordField(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters, hard to guess, without the name or email)",
        validators=[_required("A password"), Length(max=1000)],
    )
    submit = SubmitField("Save")


class UserEditForm(UserForm):
    password = PasswordField("New password (leave empty to keep the current one)",
                             validators=[Optional(), Length(max=1000)])


class TechnicianProfileForm(FlaskForm):
    home_latitude = FloatField("Home latitude", validators=[Optional()])
    home_longitude = FloatField("Home longitude", validators=[Optional()])
    hourly_rate = FloatField("Hourly rate", validators=[InputRequired(message="An hourly rate is required.")])
    overtime_multiplier = FloatField("Overtime multiplier",
                                     validators=[InputRequired(message="An overtime multiplier is required.")])
    shift_days = StringField("Shift days (1 = Monday … 7 = Sunday, e.g. 12345)",
                             validators=[_required("Shift days"), Length(max=7)])
    shift_start = TimeField("Shift start (UTC)", validators=[InputRequired(message="A shift start is required.")])
    shift_end = TimeField("Shift end (UTC)", validators=[InputRequired(message="A shift end is required.")])
    max_concurrent_dispatches = IntegerField(
        "Maximum dispatches at a time", validators=[InputRequired(message="A maximum is required.")])
    max_hours_per_week = FloatField("Maximum hours per week",
                                    validators=[InputRequired(message="A maximum is required.")])
    submit = SubmitField("Save profile")


class SkillLevelForm(FlaskForm):
    skill = SelectField("Skill", validators=[DataRequired(message="Choose a skill.")])
    level = IntegerField("Level (1–5)", validators=[InputRequired(message="A level is required."),
                                                    NumberRange(min=1, max=5, message="A level is 1 to 5.")])
    submit = SubmitField("Set skill")


class UnavailableForm(FlaskForm):
    unavailable_reason = StringField("Reason", validators=[_required("A reason"), Length(max=500)])
    submit = SubmitField("Make unavailable")

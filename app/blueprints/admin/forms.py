"""Admin forms: they parse and bound what is typed; the services decide what is allowed."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
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

from app.blueprints.inputs import (
    ColumnText,
    DecimalField,
    IdSelectField,
    LocalDateTimeField,
    TimeZoneField,
    WholeNumberField,
)
from app.models import Asset, AssetType, MajorLocation, MakeModel, TechnicianProfile, User
from app.services.users import MIN_PASSWORD_LENGTH, ROLES


def _required(what: str) -> DataRequired:
    return DataRequired(message=f"{what} is required.")


def _text(model: type, name: str, label: str, *validators, **kwargs):
    """A text field bound by its column's rule, with the limit as its hint."""
    rule = ColumnText(model, name)
    field_class = kwargs.pop("field_class", StringField)
    return field_class(label, description=rule.hint, validators=[*validators, rule], **kwargs)


class AssetTypeForm(FlaskForm):
    name = _text(AssetType, "name", "Name", _required("A name"))
    description = _text(AssetType, "description", "Description", Optional(), field_class=TextAreaField)
    default_skill = SelectField("Default skill for its dispatches", validators=[Optional()])
    submit = SubmitField("Save")


class MakeModelForm(FlaskForm):
    make = _text(MakeModel, "make", "Make", _required("A make"))
    model = _text(MakeModel, "model", "Model", _required("A model"))
    asset_type_id = IdSelectField("Asset type", validators=[DataRequired(message="Choose the asset type.")])
    submit = SubmitField("Save")


class LocationForm(FlaskForm):
    name = _text(MajorLocation, "name", "Name", _required("A name"))
    address = _text(MajorLocation, "address", "Address", Optional())
    latitude = DecimalField("Latitude (−90 to 90)", validators=[Optional()])
    longitude = DecimalField("Longitude (−180 to 180)", validators=[Optional()])
    submit = SubmitField("Save")


class AssetForm(FlaskForm):
    asset_tag = _text(Asset, "asset_tag", "Asset tag", _required("An asset tag"))
    name = _text(Asset, "name", "Name", _required("A name"))
    asset_type_id = IdSelectField("Asset type", validators=[DataRequired(message="Choose the asset type.")])
    make_model_id = IdSelectField("Make / model")
    major_location_id = IdSelectField("Location")
    odometer = DecimalField("Odometer", validators=[Optional()])
    submit = SubmitField("Save")


class UserForm(FlaskForm):
    email = _text(User, "email", "Email", _required("An email address"), field_class=EmailField)
    name = _text(User, "name", "Name", _required("A name"))
    role = SelectField("Role", choices=ROLES, default="technician")
    password = PasswordField(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters, hard to guess, without the name or email)",
        validators=[_required("A password"), Length(max=1000)],
    )
    submit = SubmitField("Save")


class UserEditForm(UserForm):
    password = PasswordField("New password (leave empty to keep the current one)",
                             validators=[Optional(), Length(max=1000)])
    # For a technician also the zone of their shift hours.
    time_zone = TimeZoneField("Time zone (times shown and typed; a technician's shift hours)")


class TechnicianProfileForm(FlaskForm):
    home_latitude = DecimalField("Home latitude", validators=[Optional()])
    home_longitude = DecimalField("Home longitude", validators=[Optional()])
    hourly_rate = DecimalField("Hourly rate", validators=[InputRequired(message="An hourly rate is required.")])
    overtime_multiplier = DecimalField("Overtime multiplier",
                                       validators=[InputRequired(message="An overtime multiplier is required.")])
    shift_days = _text(TechnicianProfile, "shift_days", "Shift days (1 = Monday … 7 = Sunday, e.g. 12345)",
                       _required("Shift days"))
    # Wall-clock times in the technician's zone; the view names it in the labels.
    shift_start = TimeField("Shift start", validators=[InputRequired(message="A shift start is required.")])
    shift_end = TimeField("Shift end", validators=[InputRequired(message="A shift end is required.")])
    max_concurrent_dispatches = WholeNumberField(
        "Maximum dispatches at a time", validators=[InputRequired(message="A maximum is required.")])
    max_hours_per_week = DecimalField("Maximum hours per week",
                                      validators=[InputRequired(message="A maximum is required.")])
    submit = SubmitField("Save profile")


class SkillLevelForm(FlaskForm):
    skill = SelectField("Skill", validators=[DataRequired(message="Choose a skill.")])
    level = WholeNumberField("Level (1–5)", validators=[InputRequired(message="A level is required."),
                                                        NumberRange(min=1, max=5, message="A level is 1 to 5.")])
    submit = SubmitField("Set skill")


class UnavailableForm(FlaskForm):
    unavailable_reason = _text(TechnicianProfile, "unavailable_reason", "Reason", _required("A reason"))
    unavailable_until = LocalDateTimeField("Back at (leave empty if not known)", validators=[Optional()])
    submit = SubmitField("Make unavailable")

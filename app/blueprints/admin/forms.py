"""Admin forms: they parse and bound what is typed; the services decide what is allowed."""

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import (
    DataRequired,
    StopValidation,
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


#: ISO weekday digits as the profile stores them, and the names the form shows.
WEEKDAYS = [("1", "Mon"), ("2", "Tue"), ("3", "Wed"), ("4", "Thu"), ("5", "Fri"), ("6", "Sat"), ("7", "Sun")]


class WeekdaysField(SelectMultipleField):
    """Seven check boxes, Mon..Sun; ``data`` is the list of ISO digits ticked ("1" = Monday).

    The profile stores them as one digit string ("12345"): ``digits`` gives it.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(label, choices=[SelectChoice(value, name) for value, name in WEEKDAYS], coerce=str, **kwargs)

    def process_data(self, value) -> None:
        # The stored digit string ("12345") is shown as the boxes it stands for.
        super().process_data(list(value) if isinstance(value, str) else value)

    def pre_validate(self, form) -> None:
        if any(value not in dict(WEEKDAYS) for value in self.data or []):
            raise StopValidation("Tick the days from Monday to Sunday (the value sent is not one of them).")

    @property
    def digits(self) -> str:
        return "".join(sorted(set(self.data or [])))


def _at_least_one_day(form, field) -> None:
    if not field.data:
        raise StopValidation("Choose at least one shift day.")


class TechnicianProfileForm(FlaskForm):
    home_location_id = IdSelectField("Home base", default=0, description=(
        "A known location: its coordinates become the technician's home. Or type its address below."))
    home_address = StringField("…or the address of a known location", validators=[Optional(), Length(max=500)],
                               description="Addresses are matched to the known locations' addresses, not looked up on a map.")
    home_latitude = DecimalField("Home latitude (−90 to 90)", validators=[Optional()])
    home_longitude = DecimalField("Home longitude (−180 to 180)", validators=[Optional()])
    hourly_rate = DecimalField("Hourly rate", validators=[InputRequired(message="An hourly rate is required.")])
    overtime_multiplier = DecimalField("Overtime multiplier (1.5 = time and a half)",
                                       validators=[InputRequired(message="An overtime multiplier is required.")])
    shift_days = WeekdaysField("Shift days", validators=[_at_least_one_day])
    # Wall-clock times in the technician's zone; the view names it in the labels.
    shift_start = TimeField("Shift start", validators=[InputRequired(message="A shift start is required.")])
    shift_end = TimeField("Shift end", validators=[InputRequired(message="A shift end is required.")])
    max_concurrent_dispatches = WholeNumberField(
        "Maximum dispatches at a time", validators=[InputRequired(message="A maximum is required.")])
    max_hours_per_week = DecimalField("Maximum hours per week",
                                      validators=[InputRequired(message="A maximum is required.")])
    submit = SubmitField("Save profile")

    #: Rendered in their own group (home base) or as check boxes, not in the plain list of fields.
    GROUPED = ("home_location_id", "home_address", "home_latitude", "home_longitude", "shift_days")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from app.blueprints.formatting import currency_symbol

        self.hourly_rate.label.text = f"Hourly rate ({currency_symbol()})"


class SkillLevelForm(FlaskForm):
    skill = SelectField("Skill", validators=[DataRequired(message="Choose a skill.")])
    level = WholeNumberField("Level (1–5)", validators=[InputRequired(message="A level is required."),
                                                        NumberRange(min=1, max=5, message="A level is 1 to 5.")])
    submit = SubmitField("Set skill")


class UnavailableForm(FlaskForm):
    unavailable_reason = _text(TechnicianProfile, "unavailable_reason", "Reason", _required("A reason"))
    unavailable_until = LocalDateTimeField("Back at (leave empty if not known)", validators=[Optional()])
    submit = SubmitField("Make unavailable")

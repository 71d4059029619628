from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from app.blueprints.inputs import TimeZoneField, WholeNumberField
from app.services.users import MIN_PASSWORD_LENGTH


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[
        DataRequired(message="Type your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(f"New password (at least {MIN_PASSWORD_LENGTH} characters, hard to guess)",
                                 validators=[DataRequired(message="Type a new password."), Length(max=1024)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", validators=[
        DataRequired(message="Type the new password a second time."),
        EqualTo("new_password", message="The two new passwords differ; type them again.")],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Change password")


class TimeZoneForm(FlaskForm):
    time_zone = TimeZoneField("Time zone you see and type times in")
    submit = SubmitField("Save time zone")


class TokenForm(FlaskForm):
    name = StringField("Name (where the token is used)", validators=[Length(max=100)])
    expires_in_days = WholeNumberField("Expires after (days; empty: never)", minimum=1, maximum=732)
    submit = SubmitField("Create token")


class TokenRenameForm(FlaskForm):
    name = StringField("New name", validators=[Length(max=100)])
    submit = SubmitField("Rename")

"""Forms of the alert pages; every value is checked by ``app.services.alerting``, which says why."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField


class SilenceForm(FlaskForm):
    category = SelectField("Category", choices=[], validate_choice=False)
    minutes = StringField("For how many minutes", default="60", description="At most 43,200 (30 days).")
    reason = StringField("Reason", description="Shown with the silence, so others know why.")
    submit = SubmitField("Silence")


class SettingsForm(FlaskForm):
    quiet_hours_start = StringField("Quiet hours start", description="HH:MM; leave both empty for no quiet hours.")
    quiet_hours_end = StringField("Quiet hours end", description="HH:MM, e.g. 06:00.")
    suppression_minutes = StringField(
        "Suppression window (minutes)",
        description="A repeat of an open alert inside this window is counted, not told again (0 to 1440).")
    escalation_minutes = StringField(
        "Escalation time (minutes)",
        description="A critical alert nobody acknowledges for this long goes to the admins (1 to 10080).")
    submit = SubmitField("Save settings")


class ThresholdForm(FlaskForm):
    warning = StringField("Warning threshold")
    critical = StringField("Critical threshold")
    submit = SubmitField("Save thresholds")


class BandThresholdForm(FlaskForm):
    warning_low = StringField("Warning band: low end")
    warning_high = StringField("Warning band: high end")
    critical_low = StringField("Critical band: low end")
    critical_high = StringField("Critical band: high end")
    submit = SubmitField("Save thresholds")

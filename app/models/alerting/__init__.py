"""The alert check's tables: alerts, thresholds, silences and the alert settings."""

from app.models.alerting.alert import ALERT_STATES, Alert
from app.models.alerting.alert_setting import AlertSetting
from app.models.alerting.alert_silence import AlertSilence
from app.models.alerting.alert_threshold import AlertThreshold

__all__ = ["ALERT_STATES", "Alert", "AlertSetting", "AlertSilence", "AlertThreshold"]

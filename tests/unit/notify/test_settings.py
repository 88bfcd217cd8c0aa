"""notify's mail-server settings: encrypted by default, plain only when asked for in production."""
import pytest

from services.notify.settings import NotifySettings
from shared.settings import ConfigurationError


def test_mail_goes_with_starttls_from_no_reply_at_fluvius_by_default():
    settings = NotifySettings.load({})
    assert settings.smtp_security == "starttls"
    assert settings.mail_from == "no-reply@fluvius.be"


def test_production_refuses_an_unencrypted_relay_unless_explicitly_allowed():
    with pytest.raises(ConfigurationError, match="SMTP_SECURITY=none sends mail .* SMTP_ALLOW_PLAINTEXT=true"):
        NotifySettings.load({"SMTP_SECURITY": "none"})
    assert NotifySettings.load({"SMTP_SECURITY": "none", "SMTP_ALLOW_PLAINTEXT": "true"}).smtp_security == "none"
    assert NotifySettings.load({"SMTP_SECURITY": "none", "ENERGIEPOST_ENV": "development"}).smtp_security == "none"


def test_an_unknown_security_mode_is_one_clear_line():
    with pytest.raises(ConfigurationError) as error:
        NotifySettings.load({"SMTP_SECURITY": "ssl"})
    assert str(error.value) == "SMTP_SECURITY must be one of 'starttls', 'tls' or 'none', not 'ssl'"


def test_a_username_without_a_password_is_refused_and_the_password_never_shown():
    with pytest.raises(ConfigurationError, match="SMTP_USERNAME and SMTP_PASSWORD go together"):
        NotifySettings.load({"SMTP_USERNAME": "energiepost"})
    settings = NotifySettings.load({"SMTP_USERNAME": "energiepost", "SMTP_PASSWORD": "relay-secret"})
    assert "relay-secret" not in repr(settings)

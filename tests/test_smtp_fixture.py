"""The SMTP fixture is a real server: Django's SMTP backend delivers to it over a socket."""

from django.core.mail import send_mail


def test_mail_sent_through_django_reaches_the_real_smtp_server(smtp_server) -> None:
    sent = send_mail("Bonjour", "Corps du message", "pacte@example.test", ["client@example.test"])
    assert sent == 1
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "Bonjour"
    assert message.envelope_to == ["client@example.test"]
    assert message.get_content().strip() == "Corps du message"

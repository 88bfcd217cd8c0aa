"""The manager's security page ("Beveiliging"): where they are logged in (and ending the
other sessions), changing the password, and an authenticator app as second factor.

auth decides everything against the session; these handlers carry the token and render.
The QR code of a new app is drawn here (segno, an SVG ``data:`` URI: the CSP allows
``img-src data:``), with its secret as text beside it for whoever cannot scan.
"""
from __future__ import annotations

import segno

from services.gateway import pages
from services.gateway.errors import status_of
from services.gateway.portal import Portal, signed_in
from shared.errors import AuthenticationFailed, InvalidInput, NotFound, TooManyRequests

DONE = {
    "password": "Uw wachtwoord is gewijzigd. Op uw andere toestellen bent u afgemeld.",
    "sessions": "U bent afgemeld op uw andere toestellen.",
    "session": "Die sessie is beëindigd.",
    "app-removed": "Uw authenticator-app is verwijderd. U meldt zich voortaan aan met een sms-code.",
}
REFUSED = (AuthenticationFailed, InvalidInput, NotFound, TooManyRequests)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4)


def grouped(secret: str) -> str:
    """'JBSWY3DPEHPK3PXP' -> 'JBSW Y3DP EHPK 3PXP': easier to type over."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


class AccountPages(Portal):
    HOME = "/account"

    @property
    def token(self):
        return self.cookie(pages.SESSION) or ""

    @signed_in
    def overview(self, session, *, status=200, error=None):
        view = self.auth.get_account(self.token)
        return self.render("account.html", status=status, session=session, account=view, error=error,
                           message=DONE.get(self.request.args.get("done")))

    def end_sessions(self):
        session_id = self.request.form.get("session", "")[:64] or None
        try:
            self.auth.end_my_sessions(self.token, session_id)
        except AuthenticationFailed:
            return self.to_login("/account")
        except NotFound as exc:
            return self.overview(status=404, error=exc.message)
        return self.redirect("/account?done=" + ("session" if session_id else "sessions"))

    # --- the password ------------------------------------------------------------------------

    @signed_in
    def password_form(self, session):
        return self.render("change_password.html", session=session)

    @signed_in
    def change_password(self, session):
        form = self.request.form
        try:
            started = self.auth.start_password_change(self.token, form.get("password", ""),
                                                      form.get("new_password", ""),
                                                      form.get("new_password_confirm", ""), self.ip, self.device)
        except REFUSED as exc:
            return self.render("change_password.html", status=status_of(exc), session=session, error=exc.message)
        response = self.redirect("/code")
        pages.set_cookie(response, pages.ATTEMPT, started["attempt_token"], self.settings)
        return response

    # --- the authenticator app ------------------------------------------------------------------

    def start_app(self):
        try:
            self.auth.start_app_enrolment(self.token)
        except AuthenticationFailed:
            return self.to_login("/account")
        return self.redirect("/account/app")

    @signed_in
    def app_form(self, session, *, status=200, error=None):
        try:
            enrolment = self.auth.get_app_enrolment(self.token)
        except NotFound:  # nothing being added (any more): the security page says what there is
            return self.redirect("/account")
        return self.render("app_enrol.html", status=status, session=session, error=error,
                           qr=qr_data_uri(enrolment["uri"]), secret=grouped(enrolment["secret"]))

    @signed_in
    def confirm_app(self, session):
        try:
            confirmed = self.auth.confirm_app(self.token, self.request.form.get("code", ""), self.ip, self.device)
        except NotFound:
            return self.redirect("/account")
        except REFUSED as exc:
            return self.app_form(status=status_of(exc), error=exc.message, session=session)
        return self.render("recovery_codes.html", session=session, codes=confirmed["recovery_codes"])

    @signed_in
    def remove_app(self, session):
        try:
            self.auth.remove_app(self.token, self.request.form.get("code", ""), self.ip, self.device)
        except REFUSED as exc:
            return self.overview(status=status_of(exc), error=exc.message, session=session)
        return self.redirect("/account?done=app-removed")

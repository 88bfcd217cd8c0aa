"""The managers' portal: each handler checks its input, asks auth or files, renders.

Authorisation is not decided here: files checks every list, download and delete
against the session (which auth resolves); this module only carries the token.
"""
from __future__ import annotations

import functools
import re

from services.gateway import downloads, pages
from services.gateway.errors import status_of
from shared.errors import AuthenticationFailed, Gone, InvalidInput, NotFound, TooManyRequests
from shared.login_steps import ATTEMPT_ENDED, CHANGE, CHOOSE_PASSWORD, VERIFY_CODE

DELETED_COUNT = re.compile(r"[0-9]{1,4}")  # at most 1,000 files are deleted at once
STEP_PAGES = {CHOOSE_PASSWORD: "/password/new", VERIFY_CODE: "/code"}
FORGOT_ANSWER = ("Als er een account bestaat voor deze login, ontvangt u binnen enkele minuten een e-mail "
                 "met een link om een nieuw wachtwoord te kiezen.")


def at_step(stage):
    """A handler of one step of a login: it gets the attempt's token, the attempt (at ``stage``)
    and the page to go to after the login; an attempt that ended or is elsewhere shows the
    login page again, saying so."""
    def decorate(handler):
        @functools.wraps(handler)
        def step(self):
            token = self.cookie(pages.ATTEMPT)
            attempt = self.auth.get_attempt(token) if token else None
            if attempt is None or attempt["stage"] != stage:
                return self.restart(AuthenticationFailed(ATTEMPT_ENDED))
            source = self.request.form if self.request.method == "POST" else self.request.args
            return handler(self, token, attempt, pages.safe_next(source.get("next")))
        return step
    return decorate


def signed_in(handler):
    """A handler for a manager who is logged in: it gets the session auth resolved; without
    one, the login page, coming back to this part of the portal after it."""
    @functools.wraps(handler)
    def with_session(self, *args, **kwargs):
        session = kwargs.pop("session", None) or self.session()
        if session is None:
            return self.to_login(self.HOME)
        return handler(self, session, *args, **kwargs)
    return with_session


class Portal:
    """What one request needs: the request, the settings, the CSRF protection and the RPC proxies.

    The gateway checks the CSRF token of every form (a POST) before a handler runs."""

    HOME = "/files"  # where the login leads back to, for the handlers of this class

    def __init__(self, request, *, settings, csrf, auth, files, blobs):
        self.request, self.settings, self.csrf = request, settings, csrf
        self.auth, self.files, self.blobs = auth, files, blobs

    # --- helpers -----------------------------------------------------------------------

    def render(self, template, *, status=200, **context):
        return pages.render(self.request, self.settings, template, csrf=self.csrf, status=status, **context)

    def redirect(self, location):
        return pages.redirect(location, self.settings)

    def cookie(self, name):
        return pages.read_cookie(self.request, name, self.settings)

    @property
    def ip(self):
        return pages.client_ip(self.request, self.settings)

    @property
    def device(self):
        """The trusted-device cookie (auth decides whether it is one of the manager's)."""
        return (self.cookie(pages.DEVICE) or "")[:100] or None

    def session(self):
        token = self.cookie(pages.SESSION)
        if not token:
            return None
        try:
            return self.auth.resolve_session(token)
        except AuthenticationFailed:
            return None

    def to_login(self, next_path="/files"):
        response = self.redirect(pages.with_next("/login", next_path))
        pages.clear_cookie(response, pages.SESSION, self.settings)
        return response

    # --- login -------------------------------------------------------------------------

    def login_form(self):
        if self.session():
            return self.redirect(pages.safe_next(self.request.args.get("next")))
        message = "U bent afgemeld." if self.request.args.get("logged_out") else None
        return self.render("login.html", next=pages.safe_next(self.request.args.get("next")), info=message)

    def login(self):
        form = self.request.form
        next_path = pages.safe_next(form.get("next"))
        try:
            started = self.auth.start_login(form.get("login", ""), form.get("password", ""), self.ip, self.device)
        except (AuthenticationFailed, TooManyRequests) as exc:
            return self.render("login.html", status=status_of(exc), next=next_path, error=exc.message,
                               login=form.get("login", "")[:320])
        response = self.redirect(pages.with_next(STEP_PAGES[started["stage"]], next_path))
        pages.set_cookie(response, pages.ATTEMPT, started["attempt_token"], self.settings)
        return response

    def restart(self, exc):
        response = self.render("login.html", status=status_of(exc), next="/files", error=exc.message)
        pages.clear_cookie(response, pages.ATTEMPT, self.settings)
        return response

    @at_step(CHOOSE_PASSWORD)
    def choose_password_form(self, _token, attempt, next_path):
        return self.render("choose_password.html", attempt=attempt, next=next_path)

    @at_step(CHOOSE_PASSWORD)
    def choose_password(self, token, attempt, next_path):
        form = self.request.form
        try:
            self.auth.choose_password(token, form.get("new_password", ""), form.get("new_password_confirm", ""))
        except InvalidInput as exc:
            return self.render("choose_password.html", status=400, attempt=attempt, next=next_path,
                               error=exc.message, error_field=exc.field)
        except TooManyRequests as exc:
            return self.render("choose_password.html", status=429, attempt=attempt, next=next_path, error=exc.message)
        return self.redirect(pages.with_next("/code", next_path))

    @at_step(VERIFY_CODE)
    def code_form(self, _token, attempt, next_path):
        return self.render("code.html", attempt=attempt, next=next_path,
                           info=self.request.args.get("resent") and "We stuurden u een nieuwe code.")

    @at_step(VERIFY_CODE)
    def verify_code(self, token, attempt, next_path):
        try:
            session = self.auth.verify_code(token, self.request.form.get("code", ""), self.ip, self.device)
        except (AuthenticationFailed, TooManyRequests) as exc:
            return self.render("code.html", status=status_of(exc), attempt=attempt, next=next_path, error=exc.message)
        response = self.redirect("/account?done=password" if session["purpose"] == CHANGE else next_path)
        pages.clear_cookie(response, pages.ATTEMPT, self.settings)
        pages.set_cookie(response, pages.SESSION, session["session_token"], self.settings)
        pages.set_cookie(response, pages.CSRF, self.csrf.new_cookie(), self.settings)  # renewed at login
        # This browser is now a trusted device: its own failure count, which nobody else can exhaust.
        pages.set_cookie(response, pages.DEVICE, session["device_token"], self.settings,
                         max_age=session["device_max_age"])
        return response

    @at_step(VERIFY_CODE)
    def resend_code(self, token, attempt, next_path):
        try:
            self.auth.resend_code(token)
        except TooManyRequests as exc:
            return self.render("code.html", status=429, attempt=attempt, next=next_path, error=exc.message)
        location = pages.with_next("/code", next_path)
        return self.redirect(location + ("&" if "?" in location else "?") + "resent=1")

    @at_step(VERIFY_CODE)
    def use_app(self, token, attempt, next_path):
        """At the code step: the authenticator app (or a recovery code) instead of the SMS."""
        try:
            self.auth.use_app(token)
        except AuthenticationFailed as exc:
            return self.restart(exc)
        except InvalidInput as exc:
            return self.render("code.html", status=400, attempt=attempt, next=next_path, error=exc.message)
        return self.redirect(pages.with_next("/code", next_path))

    def logout(self):
        token = self.cookie(pages.SESSION)
        if token:
            self.auth.end_session(token)
        response = self.redirect("/login?logged_out=1")
        pages.clear_cookie(response, pages.SESSION, self.settings)
        return response

    # --- forgotten password ---------------------------------------------------------------

    def forgot_form(self):
        return self.render("forgot.html")

    def forgot(self):
        self.auth.request_password_reset(self.request.form.get("login", "")[:320], self.ip)
        return self.render("forgot.html", info=FORGOT_ANSWER, sent=True)

    def reset_form(self):
        """The reset link is ``/reset#<token>``: the fragment never leaves the browser, so the
        token is in no access log and no Referer.  portal.js posts it from this page's form;
        without JavaScript the manager pastes the code the e-mail shows."""
        return self.render("reset.html")

    def reset(self):
        form = self.request.form
        token = "".join(form.get("token", "").split())[:200]  # a pasted code may carry spaces or breaks
        if "new_password" not in form:  # the code from the link or the e-mail: which login is it for?
            try:
                reset = self.auth.check_reset_token(token)
            except AuthenticationFailed as exc:
                return self.render("message.html", status=410, title="Link niet meer geldig", message=exc.message)
            return self.render("reset.html", token=token, login=reset["login"])
        try:
            started = self.auth.complete_password_reset(token, form.get("new_password", ""),
                                                        form.get("new_password_confirm", ""), self.ip)
        except AuthenticationFailed as exc:
            return self.render("message.html", status=410, title="Link niet meer geldig", message=exc.message)
        except (InvalidInput, TooManyRequests) as exc:
            login = self.auth.check_reset_token(token)["login"] if isinstance(exc, InvalidInput) else ""
            return self.render("reset.html", status=status_of(exc), token=token, login=login, error=exc.message)
        response = self.redirect("/code")
        pages.clear_cookie(response, pages.SESSION, self.settings)
        pages.set_cookie(response, pages.ATTEMPT, started["attempt_token"], self.settings)
        return response

    # --- files ----------------------------------------------------------------------------

    def file_list(self, *, selected=None, status=200, message=None, error=None):
        """One page of the list; ``selected`` (an e-mail link's file) opens the page that holds it.
        files resolves the session itself and sends it back: one call for the whole page."""
        args = self.request.args
        sort = args.get("sort") if args.get("sort") in pages.SORT_FIELDS else "name"  # as the text: Naam, A to Z
        direction = args.get("dir") if args.get("dir") in pages.DIRECTIONS else ("desc" if sort == "date" else "asc")
        descending = direction == "desc"
        page = int(args["page"]) if pages.PAGE_NUMBER.fullmatch(args.get("page", "")) else 1
        if message is None and "deleted" in args:
            if not DELETED_COUNT.fullmatch(args["deleted"]):
                raise InvalidInput("Deze vraag kon niet verwerkt worden.", field="deleted")
            count = int(args["deleted"])
            message = f"{count} bestand{'en' if count != 1 else ''} verwijderd."
        try:
            listing = self.files.list_my_files(self.cookie(pages.SESSION) or "", sort, descending, page, selected)
        except AuthenticationFailed:
            return self.to_login(self.request.full_path.rstrip("?") if selected is None else f"/files/{selected}")
        except Gone as exc:
            return self.render("gone.html", status=410, session=self.session(), reason=exc.reason)
        except NotFound:
            return self.render("message.html", status=404, session=self.session(), title="Bestand niet gevonden",
                               message="Dit bestand bestaat niet of is niet voor u bestemd.")
        session = listing["session"]
        return self.render("files.html", status=status, session=session, files=listing["files"],
                           count=listing["count"], total_size=listing["total_size"], page=listing["page"],
                           pages=listing["pages"], sort=sort, descending=descending, direction=direction,
                           selected=selected, message=message, error=error,
                           show_community=len(session["communities"]) > 1,
                           community_names={c["id"]: c["name"] for c in session["communities"]})

    def file_link(self, file_id):
        """The link in the e-mail: the list with that file selected, or why it is not there."""
        return self.file_list(selected=file_id)

    def _selection(self):
        return [value for value in self.request.form.getlist("file") if value][:1000]

    def download(self):
        selection = self._selection()
        if not selection:
            return self.file_list(status=400, error="Selecteer eerst een of meer bestanden.")
        try:  # files resolves the session and finds the blobs before it records the download
            granted = self.files.grant_download(self.cookie(pages.SESSION) or "", selection)
        except AuthenticationFailed:
            return self.to_login()
        except Gone as exc:
            return self.render("gone.html", status=410, session=self.session(), reason=exc.reason)
        except NotFound:
            return self.file_list(status=404, error="Een van de gekozen bestanden bestaat niet (meer).")
        if len(granted) == 1:
            response = downloads.single(self.blobs, granted[0])
        else:
            response = downloads.zipped(self.blobs, granted, f"bestanden-{len(granted)}.zip")
        return pages.security_headers(response, self.settings)

    @signed_in
    def confirm_delete(self, session):
        selection = set(self._selection())
        if not selection:
            return self.file_list(status=400, error="Selecteer eerst de bestanden die u wilt verwijderen.")
        try:
            files = self.files.describe_my_files(self.cookie(pages.SESSION), sorted(selection))
        except AuthenticationFailed:
            return self.to_login()
        except NotFound:
            return self.file_list(status=404, error="Een van de gekozen bestanden bestaat niet (meer).")
        return self.render("confirm_delete.html", session=session, files=files)

    def delete(self):
        try:  # files resolves the session itself
            result = self.files.delete_my_files(self.cookie(pages.SESSION) or "", self._selection())
        except AuthenticationFailed:
            return self.to_login()
        except (NotFound, InvalidInput) as exc:
            return self.file_list(status=status_of(exc), error=exc.message)
        return self.redirect(f"/files?deleted={result['deleted']}")

    def help(self):
        return self.render("help.html", session=self.session())

"""auth: communities, their managers, credentials, logins, sessions and the audit trail."""
from nameko.rpc import rpc
from nameko.timer import timer

from services.auth import (
    account, audit, authenticator, communities, contacts, credentials, helpdesk, lockout, login, recipients, resets,
    retention, sessions,
)
from services.auth.dependencies import Secrets
from services.auth.models import LoginAttempt, Manager, OutboxMessage
from services.auth.settings import AuthSettings
from shared import contract, metrics
from shared.clock import Clock
from shared.correlation import Correlation
from shared.db import Database
from shared.errors import EXPECTED_ERRORS
from shared.health import broker_answered, database_check, run_checks
from shared.metrics import METRICS_INTERVAL, Metrics
from shared.outbox import Outbox
from shared.settings import Settings


class AuthService:
    name = "auth"
    correlation = Correlation()
    metrics = Metrics()

    db = Database()
    clock = Clock()
    settings = Settings(AuthSettings)
    secrets = Secrets()
    outbox = Outbox(OutboxMessage)

    @rpc
    def health(self):
        """What ``energiepost health auth`` (the compose healthcheck) asks."""
        return run_checks(self.name, {"broker": broker_answered, "database": database_check(self.db)})

    # --- the operator's helpdesk --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def add_community(self, community_id, name, email, gsm):
        community = communities.add_community(
            self.db, community_id=community_id, name=name, email=email, gsm=gsm, now=self.clock.now()
        )
        self.db.commit()
        return communities.community_view(community)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_community(self, community_id, email=None, gsm=None, name=None):
        now = self.clock.now()
        community, changed = communities.update_community(
            self.db, community_id=community_id, email=email, gsm=gsm, name=name, now=now
        )
        for manager in changed:  # new contact details: old sessions, codes and initial passwords must not live on
            sessions.end_everything(self.db, manager.id, now=now)
            audit.record(self.db, "contact_changed", now=now, manager_id=manager.id)
            if credentials.void_initial_password(manager, now=now):
                audit.record(self.db, "initial_password_voided", now=now, manager_id=manager.id)
        self.db.commit()
        return communities.community_view(community)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def unlock_manager(self, community_id):
        """Lift the lockout of the community's manager (every stream); how many were locked."""
        community = communities.get_community(self.db, community_id)
        manager = community.manager
        unlocked = lockout.unlock(self.db, login.account_key(manager.login, self.settings), manager_id=manager.id,
                                  by="operator", now=self.clock.now())
        self.db.commit()
        return {"community_id": community.id, "login": manager.login, "unlocked": unlocked}

    @rpc
    def list_communities(self):
        return [communities.community_view(c) for c in communities.list_communities(self.db)]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_community(self, community_id):
        """Existence check, display name and the manager's (opaque) id; no personal data."""
        community = communities.get_community(self.db, community_id)
        return {"id": community.id, "name": community.name, "manager_id": community.manager_id}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def resend_credentials(self, community_id, reset=False):
        """A new initial password in a new first e-mail; the old password void at once."""
        resent = helpdesk.resend_credentials(self.db, community_id, reset=reset is True, now=self.clock.now(),
                                             outbox=self.outbox)
        self.db.commit()
        return resent

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def remove_community(self, community_id):
        """The community ends (and its manager's account, when it was their only one);
        files deletes its files on the ``community_removed`` event."""
        removed = helpdesk.remove_community(self.db, community_id, now=self.clock.now(), settings=self.settings,
                                            outbox=self.outbox)
        self.db.commit()
        return removed

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_audit_events(self, community_id=None, since=None, limit=None):
        return helpdesk.audit_trail(self.db, community_id=community_id, since=since, limit=limit)

    # --- asked by notify when it sends ----------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def prepare_mail_recipients(self, mails):
        """For a batch of e-mails: each one's recipient, and initial credentials where due."""
        answers = recipients.prepare_mail_recipients(self.db, mails, now=self.clock.now())
        self.db.commit()
        return answers

    @rpc
    def issue_sms_code(self, attempt_id, ref):
        issued = login.issue_code(self.db, attempt_id, ref, now=self.clock.now(), settings=self.settings)
        self.db.commit()
        return issued

    @rpc
    def report_code_delivery(self, attempt_id, delivered):
        attempt = self.db.get(LoginAttempt, attempt_id)
        if attempt is not None:
            audit.record(self.db, "code_sent" if delivered else "code_failed", now=self.clock.now(),
                         manager_id=attempt.manager_id, detail=f"to {contacts.mask_gsm(attempt.manager.gsm)}")
            self.db.commit()

    @rpc
    def get_lock_notice(self, manager_id):
        """Where notify sends the e-mail about a lockout (None once the manager is gone)."""
        manager = self.db.get(Manager, manager_id)
        return manager and {"email": manager.email, "login": manager.login}

    @rpc
    def issue_reset_token(self, reset_id, ref):
        issued = resets.issue_token(self.db, reset_id, ref, now=self.clock.now())
        self.db.commit()
        return issued

    # --- the portal (through the gateway) -------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("password", "device_token"))
    def start_login(self, login_name, password, client_ip=None, device_token=None):
        attempt, token = login.start(self.db, login=login_name, password=password, client_ip=client_ip,
                                     now=self.clock.now(), settings=self.settings, outbox=self.outbox,
                                     device_token=device_token)
        self.db.commit()
        return {"attempt_token": token, "stage": attempt.stage}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("attempt_token",))
    def get_attempt(self, attempt_token):
        attempt = login.active_attempt(self.db, attempt_token, now=self.clock.now())
        return {"stage": attempt.stage, "login": attempt.manager.login, "gsm": contacts.mask_gsm(attempt.manager.gsm),
                "purpose": attempt.purpose, "method": attempt.method,
                "has_app": authenticator.confirmed_app(self.db, attempt.manager_id) is not None}

    @rpc(expected_exceptions=EXPECTED_ERRORS,
         sensitive_arguments=("attempt_token", "new_password", "new_password_confirm"))
    def choose_password(self, attempt_token, new_password, new_password_confirm):
        attempt = login.choose_password(self.db, attempt_token, new_password, new_password_confirm,
                                        now=self.clock.now(), settings=self.settings, outbox=self.outbox)
        self.db.commit()
        return {"stage": attempt.stage}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("attempt_token",))
    def resend_code(self, attempt_token):
        now = self.clock.now()
        attempt = login.active_attempt(self.db, attempt_token, now=now, stage=login.VERIFY_CODE)
        login.request_code(self.db, attempt, now=now, settings=self.settings, outbox=self.outbox)
        self.db.commit()

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("attempt_token",))
    def use_app(self, attempt_token):
        login.use_app(self.db, attempt_token, now=self.clock.now())
        self.db.commit()

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("attempt_token", "code", "device_token"))
    def verify_code(self, attempt_token, code, client_ip=None, device_token=None):
        """A session token, and a trusted-device token for the browser's cookie (``device_max_age`` seconds)."""
        verified = login.verify_code(self.db, attempt_token, code, client_ip=client_ip, now=self.clock.now(),
                                     settings=self.settings, box=self.secrets, outbox=self.outbox,
                                     device_token=device_token)
        self.db.commit()
        return verified

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def resolve_session(self, session_token):
        """Who this session belongs to and which communities they manage (restarts the idle clock)."""
        row = sessions.resolve(self.db, session_token, now=self.clock.now(), settings=self.settings)
        manager = row.manager
        view = {
            "manager_id": manager.id,
            "login": manager.login,
            "communities": [{"id": c.id, "name": c.name} for c in sorted(manager.communities, key=lambda c: c.name)],
        }
        self.db.commit()
        return view

    @rpc(sensitive_arguments=("session_token",))
    def end_session(self, session_token):
        sessions.end(self.db, session_token, now=self.clock.now())
        self.db.commit()

    # --- the manager's own security page (with a live session) -------------------------------

    def _session(self, session_token):
        return sessions.resolve(self.db, session_token, now=self.clock.now(), settings=self.settings)

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def get_account(self, session_token):
        view = account.overview(self.db, self._session(session_token), now=self.clock.now(), settings=self.settings)
        self.db.commit()
        return view

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def end_my_sessions(self, session_token, session_id=None):
        """End this manager's other sessions, or only ``session_id`` among them."""
        ended = account.end_sessions(self.db, self._session(session_token), now=self.clock.now(), session_id=session_id)
        self.db.commit()
        return {"ended": ended}

    @rpc(expected_exceptions=EXPECTED_ERRORS,
         sensitive_arguments=("session_token", "password", "new_password", "new_password_confirm", "device_token"))
    def start_password_change(self, session_token, password, new_password, new_password_confirm, client_ip=None,
                              device_token=None):
        token = account.start_password_change(self.db, self._session(session_token), password, new_password,
                                              new_password_confirm, client_ip=client_ip, now=self.clock.now(),
                                              settings=self.settings, outbox=self.outbox, device_token=device_token)
        self.db.commit()
        return {"attempt_token": token, "stage": login.VERIFY_CODE}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def start_app_enrolment(self, session_token):
        account.start_app(self.db, self._session(session_token), box=self.secrets, now=self.clock.now())
        self.db.commit()

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token",))
    def get_app_enrolment(self, session_token):
        """The pending app's secret and otpauth URI, for the QR code and its text."""
        view = account.app_enrolment(self.db, self._session(session_token), box=self.secrets, settings=self.settings)
        self.db.commit()
        return view

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token", "code", "device_token"))
    def confirm_app(self, session_token, code, client_ip=None, device_token=None):
        codes = account.confirm_app(self.db, self._session(session_token), code, box=self.secrets,
                                    client_ip=client_ip, now=self.clock.now(), settings=self.settings,
                                    outbox=self.outbox, device_token=device_token)
        self.db.commit()
        return {"recovery_codes": codes}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("session_token", "code", "device_token"))
    def remove_app(self, session_token, code, client_ip=None, device_token=None):
        account.remove_app(self.db, self._session(session_token), code, box=self.secrets, client_ip=client_ip,
                           now=self.clock.now(), settings=self.settings, outbox=self.outbox, device_token=device_token)
        self.db.commit()

    # --- forgotten password -----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def request_password_reset(self, login_name, client_ip=None):
        """Queued and answered at once, alike for every login; ``handle_reset_requests`` does the work."""
        resets.request(self.db, login_name, client_ip=client_ip, now=self.clock.now(), settings=self.settings)
        self.db.commit()

    @timer(interval=1)
    def handle_reset_requests(self):
        if resets.handle_requests(self.db, now=self.clock.now(), settings=self.settings, outbox=self.outbox):
            self.db.commit()

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("token",))
    def check_reset_token(self, token):
        reset = resets.valid_reset(self.db, token, now=self.clock.now())
        return {"login": reset.manager.login}

    @rpc(expected_exceptions=EXPECTED_ERRORS, sensitive_arguments=("token", "new_password", "new_password_confirm"))
    def complete_password_reset(self, token, new_password, new_password_confirm, client_ip=None):
        attempt_token = resets.complete(self.db, token, new_password, new_password_confirm, client_ip=client_ip,
                                        now=self.clock.now(), settings=self.settings, outbox=self.outbox)
        self.db.commit()
        return {"attempt_token": attempt_token, "stage": login.VERIFY_CODE}

    # --- events -----------------------------------------------------------------------------

    @contract.handles(contract.RETENTION_DUE)
    def on_retention_due(self, event):
        """The daily run: security records past SECURITY_RETENTION_DAYS go."""
        retention.purge(self.db, now=self.clock.now(), settings=self.settings)
        self.db.commit()

    @timer(interval=METRICS_INTERVAL, eager=True)
    def measure_outbox(self):
        metrics.measure_outbox(self.name, *self.outbox.backlog(self.clock.now()))

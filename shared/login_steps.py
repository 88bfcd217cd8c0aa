"""The steps of a login, named once: auth answers with them and the portal follows them.

An attempt is at one stage (choosing the own password, then the code) and is for one
purpose (a login, a forgotten password, a change of password)."""

CHOOSE_PASSWORD, VERIFY_CODE = "choose_password", "verify_code"
LOGIN, RESET, CHANGE = "login", "reset", "change"
ATTEMPT_ENDED = "Uw aanmelding is verlopen of afgebroken. Meld u opnieuw aan."

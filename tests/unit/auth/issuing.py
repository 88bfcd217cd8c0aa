"""Asking auth for a file's first e-mail as notify does."""


def issue_initial_credentials(auth, community_id: str, ref: str) -> dict | None:
    """The login and initial password auth gives the e-mail ``ref``, or None."""
    (answer,) = auth.prepare_mail_recipients([{"community_id": community_id, "ref": ref, "credentials": True}])
    return answer["credentials"]

"""auth: communities, their managers, and the managers' credentials."""
from nameko.rpc import rpc

from services.auth import communities, credentials
from shared.clock import Clock
from shared.db import Database
from shared.errors import EXPECTED_ERRORS


class AuthService:
    name = "auth"

    db = Database("auth")
    clock = Clock()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def add_community(self, community_id, name, email, gsm):
        community = communities.add_community(
            self.db, community_id=community_id, name=name, email=email, gsm=gsm, now=self.clock.now()
        )
        self.db.commit()
        return communities.community_view(community)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_community(self, community_id, email=None, gsm=None, name=None):
        community, _changed = communities.update_community(
            self.db, community_id=community_id, email=email, gsm=gsm, name=name, now=self.clock.now()
        )
        self.db.commit()
        return communities.community_view(community)

    @rpc
    def list_communities(self):
        return [communities.community_view(c) for c in communities.list_communities(self.db)]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_community(self, community_id):
        """Existence check and display name; no personal data."""
        community = communities.get_community(self.db, community_id)
        return {"id": community.id, "name": community.name}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_recipient(self, community_id):
        """Where a community's mail goes: the manager's address and login."""
        community = communities.get_community(self.db, community_id)
        manager = community.manager
        return {
            "community_id": community.id,
            "community_name": community.name,
            "manager_id": manager.id,
            "email": manager.email,
            "login": manager.login,
        }

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def issue_initial_credentials(self, community_id, ref):
        community = communities.get_community(self.db, community_id)
        issued = credentials.issue_initial_credentials(self.db, community, ref=ref, now=self.clock.now())
        self.db.commit()
        return issued

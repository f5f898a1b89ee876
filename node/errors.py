"""The errors the application raises; `web/` and the CLI turn them into 4xx pages and messages."""


class GuildhallError(Exception):
    """A request this node refuses, with a reason a person can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidInput(GuildhallError):
    """The input is malformed or breaks a rule (bad name, unknown licence, file too large)."""


class NotFound(GuildhallError):
    """The thing named does not exist here."""


class Conflict(GuildhallError):
    """The thing already exists (a name is taken, a member already joined)."""


class Forbidden(GuildhallError):
    """The acting member may not do this."""


class NotSignedIn(GuildhallError):
    """The action needs a signed-in member."""


class TooManyAttempts(GuildhallError):
    """Sign-in is throttled for this account or address."""


class ConfigurationError(GuildhallError):
    """The node's configuration or database is unusable."""

"""energiepost's common library: settings, message contract, database, blob store, RPC."""
import warnings

# eventlet announces its maintenance mode on import; nameko 2.14 needs it all the same.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

# Secrets (passwords, codes, tokens) never reach a log, whatever its level.
from shared import log_redaction  # noqa: E402

log_redaction.install()

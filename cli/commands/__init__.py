"""The command modules: importing one registers its commands (see ``cli.registry``).
Their order here is the order of ``energiepost --help``."""
import importlib

MODULES = ("community", "publish", "files", "deliveries", "audit", "retention", "health")


def load() -> None:
    for name in MODULES:
        importlib.import_module(f"cli.commands.{name}")

"""The command line the dev sinks share: where to listen, where to write, how often to fail."""
import argparse
import os


def sink_arguments(name, doc, argv, *, port, target, fails, more=None):
    """``--host``, ``--port``, the ``target`` flag (with its default) and ``--fail-first N`` of
    ``python -m ops.<name>_sink``; defaults from ``<NAME>_SINK_HOST``, ``_PORT`` and the
    target's name (``_FILE``, ``_DIR``): a flag beats the environment, which beats the default."""
    env, prefix = os.environ, f"{name.upper()}_SINK_"
    flag, default = target
    parser = argparse.ArgumentParser(prog=f"python -m ops.{name}_sink", description=doc.split("\n")[0])
    parser.add_argument("--host", default=env.get(prefix + "HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env.get(prefix + "PORT", str(port)))
    parser.add_argument(flag, default=env.get(prefix + flag.removeprefix("--").upper(), default))
    parser.add_argument("--fail-first", type=int, default=0, metavar="N", help=f"answer the first N {fails}")
    if more is not None:
        more(parser, lambda suffix, fallback=None: env.get(prefix + suffix, fallback))
    return parser.parse_args(argv)

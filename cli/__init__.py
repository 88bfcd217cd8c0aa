"""The operator's command line: energiepost."""
import shared  # noqa: F401  (first: silences eventlet's import banner)

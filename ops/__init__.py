"""Operations: the dev launcher, migrations, queue declaration and the dev sinks."""
import shared  # noqa: F401  (first: silences eventlet's import banner)

"""Making, checking and wrapping environments (see ``envs.factory``)."""

from envs.factory import make_env, make_one, resolve, spec_name

__all__ = ["make_env", "make_one", "resolve", "spec_name"]

"""Check an environment (id, package.module:Class or path/to/file.py:Class) and print a report.

    gymsuite check-env my_env.py:MyEnv --render

Exit code 0 when it passed, 1 when it has problems.
"""

from __future__ import annotations

import sys

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.run.config import parse_assignments
    from gymsuite.envs.check import check

    p = _cli.parser("check-env", __doc__)
    p.add_argument("env")
    p.add_argument("--render", action="store_true", help="also check rgb_array rendering (needed for videos)")
    p.add_argument("--env-kwargs", nargs="+", default=[], metavar="KEY=VALUE")
    p.add_argument("--steps", type=int, default=500, help="random steps to try")
    args = p.parse_args(argv)
    report = check(args.env, parse_assignments(args.env_kwargs), steps=args.steps, render=args.render)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(_cli.run(main))

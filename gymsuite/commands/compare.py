"""Compare runs: final returns across seeds, grouped by setting (mean, median, IQM with a bootstrap interval).

    gymsuite compare runs/ppo-CartPole-v1-s0-* runs/a2c-CartPole-v1-s0-*
    gymsuite compare runs/sweep --markdown results.md --plot curves.png --profile profiles.png
"""

from __future__ import annotations

import json
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.sweeps.compare import compare, markdown
    from gymsuite.agents.sweeps.plots import check_plot_path
    from gymsuite.common.errors import UserError
    from gymsuite.common.files import atomic_write

    p = _cli.parser("compare", __doc__)
    p.add_argument("paths", nargs="+", help="run directories, or folders that hold them (a sweep)")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object per setting instead of the table")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="also plot each setting's learning curve: the IQM over seeds with its 95%% bootstrap band "
                        "(the suffix picks the format: .png, .pdf, .svg, ...)")
    p.add_argument("--profile", type=Path, metavar="FILE.png",
                   help="also plot each method's performance profile: the fraction of its runs above each final "
                        "return (scores normalised per env when there are several envs; an env whose runs all "
                        "have one return, or a single run, is left out with a warning: it has no range to normalise)")
    args = p.parse_args(argv)
    for flag, out in (("--plot", args.plot), ("--profile", args.profile)):
        if out is not None:
            check_plot_path(out, flag)  # before any work: a directory or a suffix matplotlib cannot write
    if args.markdown is not None and args.markdown.is_dir():
        raise UserError(f"--markdown {args.markdown} is a directory", f"name a file, e.g. "
                                                                      f"--markdown {args.markdown / 'results.md'}")
    rows = compare(args.paths)
    if args.profile is not None:
        from gymsuite.agents.sweeps.compare import profiles
        from gymsuite.agents.sweeps.plots import plot_profiles

        found, normalised, left_out = profiles(args.paths)  # each env left out is also a warning line
        plot_profiles(found, normalised, args.profile, left_out)
    if args.plot is not None:
        from gymsuite.agents.sweeps.compare import curve_bands
        from gymsuite.agents.sweeps.plots import plot_bands

        plot_bands(curve_bands(args.paths), args.plot, "learning curves")
    table = markdown(rows)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(table)
    if args.markdown is not None:
        atomic_write(args.markdown, lambda tmp: tmp.write_text(table + "\n"))
    return 0

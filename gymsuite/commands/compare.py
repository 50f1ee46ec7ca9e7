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
    from gymsuite.common.files import atomic_write

    p = _cli.parser("compare", __doc__)
    p.add_argument("paths", nargs="+", help="run directories, or folders that hold them (a sweep)")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object per setting instead of the table")
    p.add_argument("--plot", type=Path, metavar="FILE.png",
                   help="also plot each setting's learning curve: the IQM over seeds with its 95%% bootstrap band")
    p.add_argument("--profile", type=Path, metavar="FILE.png",
                   help="also plot each method's performance profile: the fraction of its runs above each final "
                        "return (scores normalised per env when there are several envs)")
    args = p.parse_args(argv)
    rows = compare(args.paths)
    if args.profile is not None:
        from gymsuite.agents.sweeps.compare import profiles
        from gymsuite.agents.sweeps.plots import plot_profiles

        plot_profiles(*profiles(args.paths), args.profile)
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

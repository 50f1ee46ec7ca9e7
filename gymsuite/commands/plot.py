"""Plot one run's learning curve: its training return and periodic evaluations against env steps.

    gymsuite plot runs/demo                 # writes runs/demo/curve.png
    gymsuite plot runs/demo --out demo.png
"""

from __future__ import annotations

from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.files.rundir import RunDir
    from gymsuite.agents.sweeps.plots import check_plot_path, plot_run
    from gymsuite.common.errors import UserError
    from gymsuite.common.files import read_yaml

    p = _cli.parser("plot", __doc__)
    p.add_argument("run", help="a run directory")
    p.add_argument("--out", type=Path,
                   help="the file to write, its suffix the format: .png, .pdf, .svg, ... (default RUN/curve.png)")
    args = p.parse_args(argv)
    if args.out is not None:
        check_plot_path(args.out, "--out")
    run = RunDir(Path(args.run))
    if not run.is_run():
        raise UserError(f"{args.run} is not a run directory (no config.yaml)", "pass a directory gymsuite train wrote")
    config = read_yaml(run.config) or {}
    out = args.out or run.root / "curve.png"
    title = f"{config.get('algo', '?')} on {config.get('env', '?')}, seed {config.get('seed', '?')}"
    if plot_run(run.root, out, title) == 0:
        raise UserError(f"{args.run} has no logged return yet (logs/progress.csv)", "let it train longer, then plot")
    print(f"wrote {out}")
    return 0

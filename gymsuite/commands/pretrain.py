"""Pre-train a backbone as an auto-encoder on frames of an environment, for ``backbone_init``.

    gymsuite pretrain --env tests/toy_envs.py:Corridor --frames 2000 --out encoder.pt
    gymsuite pretrain --env CartPole-v1 --frames 5000 --backbone mlp --out cartpole_encoder.pt
    gymsuite pretrain --env ALE/Pong-v5 --agent runs/ppo-pong --frames 20000 --aux denoise --out pong.pt
    gymsuite train --algo ppo --env ... --hyperparams backbone=icm_cnn backbone_init=encoder.pt freeze_backbone=true

Frames come from a random policy, or from --agent's (a run directory), through the env exactly as
training builds it. The encoder file (format: supervised/encoderfile.py) is written atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gymsuite.commands import _cli


def main(argv: list[str] | None = None) -> int:
    p = _cli.parser("pretrain", __doc__)
    p.add_argument("--env", help="environment (default: --agent's)")
    p.add_argument("--frames", type=int, required=True, help="frames to collect and train on (N)")
    p.add_argument("--out", required=True, help="encoder file to write (.pt)")
    p.add_argument("--backbone", help="backbone name (default: the one train chooses for the observation: nature_cnn "
                                      "for images of at least 36x36, small_cnn for smaller ones, mlp otherwise)")
    p.add_argument("--backbone-kwargs", nargs="+", default=[], metavar="KEY=VALUE",
                   help="the backbone's arguments, e.g. features_dim=64 (a run must use the same)")
    p.add_argument("--agent", metavar="RUN_DIR", help="collect frames with this trained agent (default: random)")
    p.add_argument("--aux", default="recon", help="loss: recon or denoise (default recon)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the frames (default 10)")
    p.add_argument("--batch-size", type=int, default=64, help="frames per step (default 64)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam step size (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the envs, the weights and the batches (default 0)")
    _cli.add_trust_pickle(p)
    args = p.parse_args(argv)
    from gymsuite.agents.run.pretraining import PretrainRequest, run_pretraining

    result = run_pretraining(PretrainRequest(env=args.env, frames=args.frames, out=Path(args.out),
                                          backbone=args.backbone, backbone_kwargs=args.backbone_kwargs,
                                          agent=args.agent, aux=args.aux, epochs=args.epochs,
                                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                                          seed=args.seed, trust_pickle=args.trust_pickle))
    print(f"{result.backbone} ({result.parameters:,} weights) trained on {args.frames} frames of {result.env}: "
          f"{args.aux} loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}")
    print(f"encoder: {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))

"""Run a policy exported by `gymsuite export --format onnx` in a gymnasium env: onnxruntime, gymnasium and numpy only.

    python onnx_policy.py runs/cp/export/policy.onnx CartPole-v1 --episodes 3

The file takes the env's own observation (the run's normalisation and image scaling are inside it) and returns the
greedy action first. An LSTM policy (`backbone=lstm`) also takes its state `h`, `c` and `episode_start`, and returns
the next state (`h_out`, `c_out`), which this loop carries from step to step. A run trained with env options
(`pixels`, `history`, `atari`...) sees its env through gymsuite's wrappers: build that env with
`gymsuite.make_env(ENV, hyperparams=...)` instead of `gym.make`.
"""

import argparse

import gymnasium as gym
import numpy as np
import onnxruntime as ort

DTYPES = {"tensor(uint8)": np.uint8, "tensor(int64)": np.int64, "tensor(float)": np.float32}


def run(path: str, env_id: str, episodes: int = 3, seed: int = 0) -> list[float]:
    """The return of each of ``episodes`` greedy episodes of the policy in ``path`` on ``env_id``."""
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    obs_dtype = DTYPES[inputs["obs"].type]
    recurrent = "h" in inputs
    outputs = ["action", "h_out", "c_out"] if recurrent else ["action"]
    env = gym.make(env_id)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        feed = {}
        if recurrent:  # a zero state; episode_start 1 zeroes it anyway
            layers, _, hidden = inputs["h"].shape  # (layers, batch, hidden)
            zeros = np.zeros((layers, 1, hidden), np.float32)
            feed = {"h": zeros, "c": zeros, "episode_start": np.ones(1, np.float32)}
        total, done = 0.0, False
        while not done:
            feed["obs"] = np.asarray(obs, obs_dtype)[None]  # a batch of one
            result = session.run(outputs, feed)
            if recurrent:
                feed.update(h=result[1], c=result[2], episode_start=np.zeros(1, np.float32))
            obs, reward, terminated, truncated, _ = env.step(result[0][0])
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("policy", help="the .onnx file")
    parser.add_argument("env", help="a gymnasium env id")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for i, value in enumerate(run(args.policy, args.env, args.episodes, args.seed)):
        print(f"episode {i}: return {value:g}")

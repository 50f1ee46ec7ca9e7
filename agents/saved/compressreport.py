"""What ``gymsuite compress`` reports of a policy, the teacher's beside the compressed one's.

* ``parameters`` / ``nonzero``: entries of the acting network (:class:`~gymsuite.agents.saved.policynets.ActingNet`:
  what a deployed policy needs; an actor-critic's critic is left out) and how many are not zero;
* ``bytes``: that network's state dict as ``torch.save`` writes it (int8: the dynamically quantised module's);
* ``latency_b1`` / ``latency_b64``: seconds per forward call on 1 and 64 observations in torch
  (:func:`gymsuite.supervised.timing.seconds_per_call`; int8: the quantised module);
* ``agreement``: the share of N on-policy states of the teacher (its greedy actions,
  :func:`~gymsuite.agents.saved.onpolicy.collect_states`) where the compressed policy's greedy action is the same;
* ``return_iqm`` with its 95% bootstrap interval (``return_ci``) over ``returns``: greedy episodes with the same
  seeds for both.

Shapes: N states, O observation as the model sees it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from torch import nn

from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.agents.saved.onpolicy import collect_states
from gymsuite.agents.saved.policynets import ActingNet, check_policy
from gymsuite.common.stats import iqm, iqm_ci
from gymsuite.supervised.compression import count_parameters, state_bytes
from gymsuite.supervised.timing import seconds_per_call


def teacher_states(teacher: LoadedAgent, n: int, seed: int) -> np.ndarray:
    """``(N, *O)``: the first N states the teacher meets acting greedily (seeded)."""
    venv = make_agent_env(teacher, seed=seed)
    try:
        return collect_states(teacher, venv, n, deterministic=True, frames=False).observations
    finally:
        venv.close()


def size(net: nn.Module, deployed: nn.Module | None = None) -> dict[str, Any]:
    """``parameters``, ``nonzero``, ``bytes`` of ``net`` (``bytes`` of ``deployed`` when given: the int8 module)."""
    nonzero, total = count_parameters(net.parameters())
    return {"parameters": total, "nonzero": nonzero, "bytes": state_bytes(deployed or net)}


def latency(net: nn.Module, states: np.ndarray) -> dict[str, float]:
    """Seconds per call of ``net`` on batches of 1 and 64 of ``states`` (repeated when fewer)."""
    x = th.as_tensor(states, dtype=th.float32)
    x64 = x[np.arange(64) % len(x)]
    with th.inference_mode():
        return {"latency_b1": seconds_per_call(lambda: net(x[:1])), "latency_b64": seconds_per_call(lambda: net(x64))}


def greedy(net: nn.Module, states: np.ndarray) -> np.ndarray:
    """``(N,)``: the argmax of ``net`` on each state."""
    with th.inference_mode():
        return net(th.as_tensor(states, dtype=th.float32)).argmax(dim=-1).cpu().numpy()


def returns(agent: LoadedAgent, episodes: int, seed: int) -> dict[str, Any]:
    """``return_iqm``, ``return_ci``, ``returns`` and ``eval`` (the summary ``eval.json`` holds) of greedy episodes."""
    venv = make_agent_env(agent, seed=seed)
    try:
        summary = evaluate(agent, venv, episodes, deterministic=True)
    finally:
        venv.close()
    values = summary["returns"]
    low, high = iqm_ci(values)
    return {"return_iqm": iqm(values), "return_ci": [low, high], "returns": values, "eval": summary}


def describe(agent: LoadedAgent, states: np.ndarray, episodes: int, seed: int,
             deployed: nn.Module | None = None, teacher_actions: np.ndarray | None = None) -> dict[str, Any]:
    """The report of one policy (the module's docstring): its acting network, or ``deployed`` in its place for
    bytes, latency and agreement (the int8 module), and ``agreement`` with ``teacher_actions`` when given."""
    policy = check_policy(agent.model, agent.algo)
    net = ActingNet(policy).eval()
    used = deployed if deployed is not None else net
    report = {**size(net, deployed), **latency(used, states)}
    if teacher_actions is not None:
        report["agreement"] = float(np.mean(greedy(used, states) == teacher_actions))
    return {**report, **returns(agent, episodes, seed)}

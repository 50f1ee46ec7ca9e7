"""Policy gradient, the course's versions 0-4 in one stable-baselines3 algorithm.

One training loop (RL 2's "collect data with the current actor, update once,
collect again"); the ``version`` hyperparameter only picks the advantage
estimator from :data:`gymsuite.agents.algorithms.advantages.ESTIMATORS`. Each update is one
gradient step on

    loss = -mean_t(A_t log pi(a_t | s_t)) - ent_coef * mean_t(H[pi(. | s_t)])
           + vf_coef * mean_t((V(s_t) - target_t)^2)     (versions with a critic only)

Versions 0-3 learn no critic: their value head gets no loss. Version 4 and SB3's
``A2C`` with the same settings (and ``use_rms_prop=False``, as we use Adam)
compute the same update, up to float rounding.

The rollout collector is the only place that knows SB3's auto-reset rules: it
records ``terminated`` and ``truncated`` apart and fills ``next_values``
(0 on termination, ``V(final observation)`` at a time limit, see
:func:`gymsuite.agents.algorithms.advantages.next_values_from`) so that every estimator stays pure.

Dimensions: T = ``n_steps``, N = number of envs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import (
    ActorCriticCnnPolicy,
    ActorCriticPolicy,
    BasePolicy,
    MultiInputActorCriticPolicy,
)
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import explained_variance, obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F  # noqa: N812

from gymsuite.agents.algorithms.advantages import ESTIMATORS, Estimator, Rollout, next_values_from
from gymsuite.agents.algorithms.spec import SPACES_DIR, AlgoSpec
from gymsuite.supervised.distributions import unchecked
from gymsuite.supervised.trunk import network_kwargs

SelfPolicyGradient = TypeVar("SelfPolicyGradient", bound="PolicyGradient")
ACTION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
# Parameters that belong to the critic alone; parameter noise leaves them (and log_std) alone.
_CRITIC_PREFIXES = ("value_net.", "mlp_extractor.value_net.", "vf_features_extractor.", "log_std")


def parse_version(version: str | float) -> str:
    """Normalise a course version: ``4`` or ``4.0`` -> ``"4"``, ``"3.5-TD"`` -> ``"3.5-td"``.

    Raises:
        ValueError: for an unknown version, or a bare 3.5, whose critic could learn either way.
    """
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        raise ValueError(f"policy-gradient version must be one of {', '.join(ESTIMATORS)}, got {version!r}")
    key = str(version).strip().lower().removeprefix("v")
    try:
        number = float(key)
    except ValueError:
        number = None
    if number == 3.5:
        raise ValueError("version 3.5 is ambiguous: its critic learns by Monte-Carlo or by temporal difference; "
                         "pass version='3.5-mc' or version='3.5-td'")
    if number is not None and number.is_integer():
        key = str(int(number))
    if key not in ESTIMATORS:
        raise ValueError(f"unknown policy-gradient version {version!r}: choose one of {', '.join(ESTIMATORS)}")
    return key


class PolicyGradient(OnPolicyAlgorithm):
    """Policy gradient with the course's choice of ``A_t`` (versions 0, 1, 2, 3, 3.5-mc, 3.5-td, 4).

    Args:
        policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or an ActorCriticPolicy class.
        env: the (vectorised) environment.
        version: course version, see :mod:`gymsuite.agents.algorithms.advantages`; 4 and 4.0 mean ``"4"``.
        learning_rate: Adam step size, or a schedule of the remaining progress.
        n_steps: T, steps per env per update. Critic-free versions (0-3) cut returns at the
            rollout end, so give them T of about an episode (see :mod:`gymsuite.agents.algorithms.advantages`).
        gamma: discount (versions 2-4; version 1 sums undiscounted rewards).
        gae_lambda: version 4's GAE lambda: 0 is the course's one-step
            ``r_t + gamma V(s_t+1) - V(s_t)``, 1 the bootstrapped Monte-Carlo advantage.
        ent_coef: entropy bonus (course RL 2: "enlarge output entropy").
        vf_coef: weight of the critic's loss (versions 3.5-mc, 3.5-td, 4).
        max_grad_norm: clip the gradient's global norm; None disables clipping.
        normalize_advantage: standardise A over each batch (mean 0, std 1) before the loss.
        share_trunk: actor and critic share their hidden layers (``policy_kwargs["net_arch"]``).
        param_noise_std: std of Gaussian noise added to a copy of the actor's weights
            that collects each rollout (course RL 2: "add noise onto parameters"); 0 disables. The update
            treats that data as the actor's own (no importance weights), as the course does.
        use_sde, sde_sample_freq, rollout_buffer_class, rollout_buffer_kwargs, stats_window_size,
        tensorboard_log, policy_kwargs, verbose, seed, device, _init_setup_model: as in SB3's A2C.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": ActorCriticPolicy,
        "CnnPolicy": ActorCriticCnnPolicy,
        "MultiInputPolicy": MultiInputActorCriticPolicy,
    }

    def __init__(
        self,
        policy: str | type[ActorCriticPolicy],
        env: GymEnv | str,
        version: str | float = "4",
        learning_rate: float | Schedule = 1e-3,
        n_steps: int = 32,
        gamma: float = 0.99,
        gae_lambda: float = 0.0,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float | None = 0.5,
        normalize_advantage: bool = False,
        share_trunk: bool = False,
        param_noise_std: float = 0.0,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        self.version = parse_version(version)
        if param_noise_std < 0:
            raise ValueError(f"param_noise_std must be >= 0, got {param_noise_std}")
        if max_grad_norm is not None and max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm must be positive or None, got {max_grad_norm}")
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,  # type: ignore[arg-type]
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            # BaseAlgorithm.load puts the saved (already mapped) policy_kwargs back after __init__.
            policy_kwargs=network_kwargs(policy_kwargs, share_trunk),
            verbose=verbose,
            device=device,
            seed=seed,
            _init_setup_model=False,
            supported_action_spaces=ACTION_SPACES,
        )
        self.normalize_advantage = normalize_advantage
        self.share_trunk = share_trunk
        self.param_noise_std = param_noise_std
        self._noisy_policy: ActorCriticPolicy | None = None
        if _init_setup_model:
            self._setup_model()

    @property
    def estimator(self) -> Estimator:
        """The advantage estimator of :attr:`version`."""
        return ESTIMATORS[self.version]

    # ----------------------------------------------------------------- collection
    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """Fill ``rollout_buffer`` with T = ``n_rollout_steps`` steps, then its advantages and critic targets.

        As SB3's, except that rewards stay the env's own: termination and truncation
        are recorded apart and become ``next_values`` for the estimator.
        """
        assert self._last_obs is not None, "No previous observation was provided"
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        actor = self._acting_policy()
        if self.use_sde:
            actor.reset_noise(env.num_envs)
        shape = (n_rollout_steps, env.num_envs)
        terminated, truncated = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        final_values = np.zeros(shape, dtype=np.float32)  # V(final observation) where truncated
        needs_critic = self.estimator.needs_critic
        callback.on_rollout_start()

        for step in range(n_rollout_steps):
            if self.use_sde and self.sde_sample_freq > 0 and step % self.sde_sample_freq == 0:
                actor.reset_noise(env.num_envs)
            with th.no_grad():
                obs_tensor = obs_as_tensor(self._last_obs, self.device)  # type: ignore[arg-type]
                actions, values, log_probs = actor(obs_tensor)
                if actor is not self.policy:  # the critic is never perturbed
                    values = self.policy.predict_values(obs_tensor)
            actions = actions.cpu().numpy()
            new_obs, rewards, dones, infos = env.step(self._env_actions(actions))
            self.num_timesteps += env.num_envs

            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            if dones.any():
                terminated[step], truncated[step] = self._episode_ends(dones, infos)
                if needs_critic and truncated[step].any():
                    final_values[step] = self._final_values(truncated[step], infos)

            if isinstance(self.action_space, spaces.Discrete):
                actions = actions.reshape(-1, 1)
            rollout_buffer.add(self._last_obs, actions, rewards, self._last_episode_starts,  # type: ignore[arg-type]
                               values, log_probs)
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones

        self._estimate(rollout_buffer, terminated, truncated, final_values)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _acting_policy(self) -> ActorCriticPolicy:
        """The policy that acts this rollout: the actor itself, or a copy with noisy weights."""
        if self.param_noise_std <= 0:
            return self.policy
        if self._noisy_policy is None:
            self._noisy_policy = copy.deepcopy(self.policy)
            self._noisy_policy.optimizer = None  # type: ignore[assignment]  # never trained
        self._noisy_policy.load_state_dict(self.policy.state_dict())
        self._noisy_policy.set_training_mode(False)
        with th.no_grad():
            for name, param in self._noisy_policy.named_parameters():
                if not name.startswith(_CRITIC_PREFIXES):
                    param.add_(th.randn_like(param), alpha=self.param_noise_std)
        return self._noisy_policy

    def _env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions the env accepts: Box actions unsquashed or clipped to bounds (as SB3 does)."""
        if not isinstance(self.action_space, spaces.Box):
            return actions
        if self.policy.squash_output:
            return self.policy.unscale_action(actions)
        return np.clip(actions, self.action_space.low, self.action_space.high)

    @staticmethod
    def _episode_ends(dones: np.ndarray, infos: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """``(terminated, truncated)``, bool ``(N,)``; SB3's VecEnv reports a time limit in the info."""
        truncated = np.array([info.get("TimeLimit.truncated", False) for info in infos], dtype=bool) & dones
        # Without the final observation a truncated episode cannot be bootstrapped: treat it as terminated.
        truncated &= np.array([info.get("terminal_observation") is not None for info in infos], dtype=bool)
        return dones & ~truncated, truncated

    def _final_values(self, truncated: np.ndarray, infos: list[dict[str, Any]]) -> np.ndarray:
        """``V(final observation)`` of the envs cut by a time limit (0 elsewhere), ``(N,)``."""
        out = np.zeros(len(infos), dtype=np.float32)
        for idx in np.flatnonzero(truncated):
            obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
            with th.no_grad():
                out[idx] = self.policy.predict_values(obs).item()
        return out

    def _estimate(self, buffer: RolloutBuffer, terminated: np.ndarray, truncated: np.ndarray,
                  final_values: np.ndarray) -> None:
        """Write the version's advantages and critic targets into ``buffer``."""
        if self.estimator.needs_critic:
            with th.no_grad():
                last_obs = obs_as_tensor(self._last_obs, self.device)  # type: ignore[arg-type]
                last_values = self.policy.predict_values(last_obs).cpu().numpy().ravel()  # (N,)
            values = buffer.values
            next_values = next_values_from(values, last_values, terminated, truncated, final_values)
        else:  # no critic: V = 0 everywhere, returns are cut at episode and rollout ends
            values = next_values = np.zeros_like(buffer.rewards)
        rollout = Rollout(buffer.rewards, values, next_values, terminated, truncated)
        advantages, targets = self.estimator(rollout, self.gamma, self.gae_lambda)
        buffer.advantages[:] = advantages
        buffer.returns[:] = targets

    # ------------------------------------------------------------------- update
    def train(self) -> None:
        """One gradient step on the whole rollout (the course's "update once, collect again")."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        data = next(self.rollout_buffer.get(batch_size=None))  # T*N samples
        actions = data.actions.long().flatten() if isinstance(self.action_space, spaces.Discrete) else data.actions
        values, log_prob, entropy = self.policy.evaluate_actions(data.observations, actions)

        advantages = data.advantages  # (T*N,)
        if self.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        policy_loss = -(advantages * log_prob).mean()
        # Without an analytic entropy (e.g. squashed Gaussians), -log pi of the sampled action estimates it.
        entropy_loss = log_prob.mean() if entropy is None else -entropy.mean()
        loss = policy_loss + self.ent_coef * entropy_loss
        if self.estimator.needs_critic:  # critic-free versions (0-3) leave the value head untrained
            value_loss = F.mse_loss(values.flatten(), data.returns)
            loss = loss + self.vf_coef * value_loss

        if not th.isfinite(loss):
            raise FloatingPointError(
                f"pg: the loss became {loss.item()} at update {self._n_updates + 1} (policy loss "
                f"{policy_loss.item()}); lower learning_rate, set max_grad_norm, or check the env's rewards")
        self.policy.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()

        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/policy_loss", policy_loss.item())
        self.logger.record("train/entropy_loss", entropy_loss.item())
        self.logger.record("train/advantage_mean", data.advantages.mean().item())
        if self.estimator.needs_critic:
            self.logger.record("train/value_loss", value_loss.item())
            self.logger.record("train/explained_variance",
                               explained_variance(self.rollout_buffer.values.flatten(),
                                                  self.rollout_buffer.returns.flatten()))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

    def learn(
        self: SelfPolicyGradient,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "PolicyGradient",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfPolicyGradient:
        # The checks cost about 15% of a small MLP policy's forward pass; what they would catch, a non-finite
        # loss, train() reports itself.
        with unchecked(th.distributions.Distribution):
            return super().learn(total_timesteps=total_timesteps, callback=callback, log_interval=log_interval,
                                 tb_log_name=tb_log_name, reset_num_timesteps=reset_num_timesteps,
                                 progress_bar=progress_bar)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_noisy_policy"]


def _build_version(version: str, policy: str, env: Any, kwargs: dict[str, Any]) -> PolicyGradient:
    """Factory of the short names (``pg4``...): the version is fixed by the name."""
    given = kwargs.get("version")
    if given is not None and parse_version(given) != version:
        raise ValueError(f"pg{version} fixes version={version}, but version={given!r} was given; "
                         f"use --algo pg to choose the version")
    return PolicyGradient(policy, env, **{**kwargs, "version": version})


#: ``pg``'s registry entry; each short name is it with the version fixed (its defaults, search space and window
#: backbones included), and a saved zip of any of them loads as ``pg`` (the version is in the zip).
PG = AlgoSpec("pg", PolicyGradient, ACTION_SPACES, "Policy gradient, course versions 0-4 (version=...)", window=True,
              zip_classes=("PolicyGradient",), space=SPACES_DIR / "pg.yml")

#: The registry entries (agents/algorithms/registry.py): ``pg`` and one short name per version.
SPECS: tuple[AlgoSpec, ...] = (
    PG,
    *(dataclasses.replace(PG, name=f"pg{version}", variant_of=PG.name, zip_classes=(),
                          description=f"Policy gradient version {version}: {estimator.summary}",
                          build=functools.partial(_build_version, version))
      for version, estimator in ESTIMATORS.items()),
)

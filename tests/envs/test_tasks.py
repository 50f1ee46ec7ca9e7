"""Task specs: parsing, errors that name the fix, the task env's transforms and parameters, seeded families."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gymsuite  # noqa: F401  (registers gymsuite/Tasks-v0)
from gymsuite.common.errors import UserError
from gymsuite.envs.taskenv import TaskEnv
from gymsuite.envs.tasks import Task, check_tasks, parse_tasks, resolve_task, sample_tasks


def test_sequence_parses_into_tasks_with_modifiers_in_order() -> None:
    tasks = parse_tasks("CartPole-v1; CartPole-v1 permute=2,0,3,1 signflip=0 ;CartPole-v1 length=2x gravity=15")
    assert [t.env for t in tasks] == ["CartPole-v1"] * 3
    assert tasks[1].modifiers == (("permute", "2,0,3,1"), ("signflip", "0"))
    assert tasks[2].text == "CartPole-v1 length=2x gravity=15"


def test_yaml_file_holds_the_same_tasks(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yml"
    path.write_text("tasks:\n  - CartPole-v1\n  - {env: CartPole-v1, permute: [3, 2, 1, 0], signflip: true}\n")
    assert [t.text for t in parse_tasks(str(path))] == ["CartPole-v1",
                                                        "CartPole-v1 permute=3,2,1,0 signflip=true"]


def test_task_env_applies_permutation_signs_and_physics() -> None:
    plain = gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1")
    moved = gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1 length=2x gravity=15 permute=3,2,1,0 signflip=0")
    a, _ = plain.reset(seed=3)
    b, info = moved.reset(seed=3)
    np.testing.assert_allclose(b, a[[3, 2, 1, 0]] * np.array([-1, 1, 1, 1]), rtol=1e-6)
    inner = moved.unwrapped.envs[0].unwrapped  # type: ignore[attr-defined]
    assert (inner.length, inner.gravity, inner.polemass_length) == (1.0, 15.0, inner.masspole * 1.0)
    assert info["task"] == 0


def test_task_id_is_a_one_hot_appended_to_the_observation() -> None:
    plain = gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1")
    marked = gym.make("gymsuite/Tasks-v0", tasks="CartPole-v1 signflip=true taskid=1/3")
    a, _ = plain.reset(seed=5)
    b, _ = marked.reset(seed=5)
    np.testing.assert_allclose(b, [*(-a), 0, 1, 0], rtol=1e-6)
    assert marked.observation_space.shape == (7,) and marked.observation_space.contains(b)
    with pytest.raises(UserError, match="K/N"):
        resolve_task(parse_tasks("CartPole-v1 taskid=3/3")[0])


def test_mixture_draws_every_task_and_is_seeded() -> None:
    env = TaskEnv("CartPole-v1; CartPole-v1 permute=3,2,1,0")
    draws = [env.reset(seed=s)[1]["task"] for s in range(20)]
    assert set(draws) == {0, 1} and draws == [env.reset(seed=s)[1]["task"] for s in range(20)]


def test_family_sampling_is_seeded_and_within_range() -> None:
    family = parse_tasks("CartPole-v1 length=0.5x:2x gravity=5:15")
    first, again, other = sample_tasks(family, 5, 0), sample_tasks(family, 5, 0), sample_tasks(family, 5, 1)
    assert first == again and first != other
    for task in first:
        values = dict(task.modifiers)
        assert values["length"].endswith("x") and 0.5 <= float(values["length"][:-1]) <= 2
        assert 5 <= float(values["gravity"]) <= 15
        resolve_task(task)  # a sampled task is an ordinary task


@pytest.mark.parametrize(("spec", "words"), [
    ("CartPole-v1 lenght=2x", ["lenght", "length", "masspole", "permute"]),  # lists what the env has
    ("CartPole-v1 length=0.5x:2x", ["range", "--family"]),
    ("CartPole-v1 length=-1", ["length"]),
    ("CartPole-v1 permute", ["key=value"]),
    ("length=2x", ["env"]),
])
def test_bad_task_is_one_clear_error(spec: str, words: list[str]) -> None:
    with pytest.raises(UserError) as err:
        resolve_task(parse_tasks(spec)[0])
    text = str(err.value)
    assert all(w in text for w in words), text


@pytest.mark.parametrize("spec", ["", " ; ", "CartPole-v1;;CartPole-v1", "CartPole-v1;"])
def test_empty_sequence_or_empty_task_is_refused(spec: str) -> None:
    with pytest.raises(UserError):
        parse_tasks(spec)


def test_permutation_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(UserError, match="not a permutation"):
        check_tasks([Task("CartPole-v1", (("permute", "1,0"),))], "")


def test_spaces_that_differ_are_named() -> None:
    with pytest.raises(UserError) as err:
        check_tasks(parse_tasks("CartPole-v1; Acrobot-v1"), "one network")
    assert "Acrobot-v1" in str(err.value) and "one network" in str(err.value)



def test_a_task_is_resolved_once_per_process_and_each_caller_gets_its_own_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gymsuite.envs import tasks as tasks_module

    built: list[str] = []
    factory = tasks_module._factory
    monkeypatch.setattr(tasks_module, "_factory", lambda spec: (built.append(spec), factory(spec))[1])
    tasks_module._resolved.cache_clear()
    task = Task("CartPole-v1", (("length", "2x"), ("kw:sutton_barto_reward", "1")))
    first, again = resolve_task(task), resolve_task(task)
    assert built == ["CartPole-v1"] and first == again  # one probe env for both
    first.kwargs["sutton_barto_reward"] = 0
    first.params.clear()
    assert resolve_task(task).kwargs == {"sutton_barto_reward": 1} and "length" in resolve_task(task).params
    bad = Task("CartPole-v1", (("lenght", "2x"),))
    for _ in range(2):  # a failure is not kept: asked again, it is checked (and refused) again
        with pytest.raises(UserError, match="did you mean 'length'"):
            resolve_task(bad)
    assert built == ["CartPole-v1"] * 3

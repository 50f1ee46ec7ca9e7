"""Jobs as tasks on a Ray cluster (``executor.run_jobs(..., ray_address=...)``): the only module that imports Ray.

Same rules as the local backends in ``executor.py``: a job that raises is reported and not run again; a job whose
worker process or node died runs again (anywhere in the cluster) up to ``retries`` times, then is reported with
``lost=True``; Ctrl-C or SIGTERM to this process submits nothing more and cancels the running tasks (Ray raises
``KeyboardInterrupt`` inside each, which the training pipeline turns into a checkpoint and ``interrupted: True``),
waits for them (at most ``jobs.STOP_GRACE_S``) and returns with ``Report.signum`` set.

Placement is Ray's: each task asks for its job's ``cpus`` and ``gpus``. The job's function travels by reference
(module and name), so every node must have gymsuite installed at the same version (no ``runtime_env``), and the
paths a job writes (run directories, a study's storage) must be absolute and on storage every node mounts at the
same path.

``address``: ``host:port`` or ``auto`` joins a running cluster (this process only disconnects at the end);
``local`` starts a private instance with this machine's CPUs, shut down at the end. A program that has already
called ``ray.init`` keeps its own connection, whatever the address. Before a command writes anything,
:func:`check_address` asks the head's GCS the first question a driver asks (a gRPC call, seconds at most), so an
address where nothing or something other than Ray answers, or a head that refuses this process's token, is exit 2
at once instead of ``ray.init``'s retries. A head on this machine that asks for a token gets this machine's, as
``ray.init(address="auto")`` would present it.

A driver killed (``kill -9``) leaves no task running: Ray ends a job's workers when its driver dies (a job that is
not detached, as these are), and a ``local`` instance's processes are bound to the driver by Ray (Linux's
parent-death signal); each run then resumes from its last checkpoint when the same command runs again.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from gymsuite.agents.sweeps.jobs import STOP_GRACE_S, Called, Job, JobQueue, OnDone, Outcome, Report, call
from gymsuite.common.errors import UserError
from gymsuite.common.signals import StopSignals

CONNECT_TIMEOUT_S = 5.0  # a head that does not answer a TCP connection in this time is reported unreachable
PROBE_TIMEOUT_S = 5.0  # nor one whose GCS does not answer the probe (a non-Ray service: ray.init would retry ~20 s)
POLL_S = 0.5  # ray.wait's timeout: Python runs the stop handlers between two waits, not during one
# The first call of every driver, answered by any Ray head's GCS before it admits a driver: what `probe` asks.
GCS_PROBE = "/ray.rpc.NodeInfoGcsService/GetClusterId"
AUTH_MODE = "RAY_AUTH_MODE"  # Ray's variables for token authentication (ray/_private/authentication)
TOKEN_REFUSED = (  # how Ray words a token refusal: the gRPC status, its detail, the error ray.init chains
    "UNAUTHENTICATED", "InvalidAuthToken", "AuthenticationError", "Authentication token")


def _ray() -> Any:
    try:
        import ray
    except ImportError as err:
        raise UserError("--ray-address needs Ray, which is not installed",
                        "pip install 'gymsuite[distributed]' (on every node), or leave --ray-address out") from err
    return ray


def _head(address: str) -> str:
    """``host:port`` of the cluster to join (``auto``: the one this machine started or joined, as Ray finds it)."""
    if address != "auto":
        return address
    # Ray's own lookup (RAY_ADDRESS, then the address file `ray start` leaves): no public API exposes it.
    from ray._private.services import canonicalize_bootstrap_address

    try:
        found = canonicalize_bootstrap_address("auto")
    except ConnectionError:  # Ray's "Could not find any running Ray instance"
        found = None
    if not found:
        raise UserError("--ray-address auto: this machine has not started or joined a Ray cluster",
                        "run `ray start --head` here (or `ray start --address HEAD:6379`), or give host:port")
    return str(found)


def _check_reachable(address: str, given: str) -> None:
    """Fail in seconds: ray.init retries an unreachable GCS for minutes, printing warnings as it goes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray-address {given!r} is not host:port, auto or local", "write e.g. 10.0.0.5:6379")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise UserError(f"no Ray cluster answers at {given} ({address}): {err.strerror or err}",
                        "start its head with `ray start --head --port PORT`, check the host, port and firewall, "
                        "or use --ray-address local") from err


def token_file() -> Path:
    """Where Ray reads this machine's token: ``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token`` (Ray's
    ``authentication_token_setup._get_default_token_path``)."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def refuses_token(text: str) -> bool:
    """Whether Ray's answer or error text (a gRPC status, ``ray.init``'s chained errors) is a token refusal."""
    return any(word in text for word in TOKEN_REFUSED)


def _auth_metadata() -> tuple[tuple[str, str], ...]:
    """The token header Ray's own clients would send from this process now (none where Ray predates tokens)."""
    try:
        from ray._private.authentication.grpc_authentication_client_interceptor import (
            _get_authentication_metadata_tuple,
        )

        return tuple(_get_authentication_metadata_tuple())
    except Exception:  # Ray < 2.5x: no token authentication
        return ()


def probe(address: str) -> tuple[str, str]:
    """Ask the GCS at ``host:port`` what a driver asks first, with the token Ray would present: ``("ray", "")``
    when a Ray head answers and admits this process, ``("token", detail)`` when it refuses the token, else
    ``("other", detail)`` (not a Ray head, or not answering in ``PROBE_TIMEOUT_S``)."""
    import grpc

    with grpc.insecure_channel(address) as channel:
        try:
            channel.unary_unary(GCS_PROBE)(b"", timeout=PROBE_TIMEOUT_S, metadata=_auth_metadata())
        except grpc.RpcError as err:
            code, detail = err.code(), str(err.details() or "").strip()
            kind = "token" if refuses_token(f"{code.name} {detail}") else "other"
            return kind, f"{code.name}: {detail}"
    return "ray", ""


def _is_local(host: str) -> bool:
    """The host is this machine (a socket can be bound to it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, 0))
        except OSError:
            return False
    return True


def _present_local_token() -> bool:
    """What ``ray.init(address="auto")`` does for a head on this machine: with ``RAY_AUTH_MODE`` unset and a token
    on this machine, turn token authentication on for this process; whether it did."""
    if os.environ.get(AUTH_MODE) is not None or not token_file().is_file():
        return False
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:
        return False
    return bool(maybe_enable_token_auth_if_token_available(warn_if_disabled=False))


def token_refusal(given: str) -> UserError:
    """The error for a head that refused this process's token: what to set, and where the token goes."""
    path = token_file()
    if os.environ.get(AUTH_MODE, "").lower() == "token":
        found = "the one in" if path.is_file() or os.environ.get("RAY_AUTH_TOKEN") else "none found at"
        return UserError(f"the Ray cluster at {given} refused this machine's token ({found} {path})",
                         f"copy the head's ~/.ray/auth_token to {path} (or set RAY_AUTH_TOKEN to it)")
    return UserError(f"the Ray cluster at {given} asks for a token (token authentication, on by default in "
                     "`ray start --head` since Ray 2.5x), and this process presents none",
                     f"set RAY_AUTH_MODE=token here, with the head's ~/.ray/auth_token copied to {path} (or "
                     "RAY_AUTH_TOKEN set to it)")


def _check_head(address: str, given: str) -> None:
    """A Ray head answers at ``address`` and admits this process (with this machine's token when the head is
    here and asks for one).

    Raises:
        UserError: nothing listening, something else listening, or the head refusing the token.
    """
    _check_reachable(address, given)
    kind, detail = probe(address)
    if kind == "token" and (given == "auto" or _is_local(address.rpartition(":")[0])) and _present_local_token():
        kind, detail = probe(address)
        if kind == "ray":
            print(f"note: the Ray head at {given} asks for a token: presenting this machine's {token_file()} "
                  f"({AUTH_MODE}=token)", file=sys.stderr)
    if kind == "token":
        raise token_refusal(given)
    if kind != "ray":
        raise UserError(f"something answers at {given} ({address}), but not as a Ray head ({detail})",
                        "give the port of the head's GCS (`ray start --head --port PORT`, 6379 by default; "
                        "`ray status` on the head shows it)")


def check_address(address: str) -> None:
    """Ray installed, and for ``host:port``/``auto`` a Ray head answering there that admits this process: a
    command checks this before it writes anything.

    Raises:
        UserError: Ray missing, the address malformed, no cluster found, none answering, something other than Ray
            answering, or the head refusing this process's token.
    """
    _ray()
    if address != "local":
        _check_head(_head(address), address)


def connect(ray: Any, address: str) -> None:
    """Join the cluster at ``address``, or start a private one for ``local``; quietly (workers' output is not
    forwarded here; Ray's errors still are)."""
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address == "local":
        # address="local": always a new instance (without it ray.init joins the cluster `ray start` left on record)
        ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
        return
    head = _head(address)
    _check_head(head, address)
    try:
        ray.init(address=head, **quiet)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as err:
        if refuses_token(_chain(err)):
            raise token_refusal(address) from err
        raise UserError(f"could not join the Ray cluster at {address}: {str(err).splitlines()[0]}",
                        "check that the head runs the same Ray and Python versions as this machine") from err


def _chain(err: BaseException) -> str:
    """The text of an error and of every error it was raised from (ray.init wraps the GCS client's)."""
    texts: list[str] = []
    seen: BaseException | None = err
    while seen is not None and len(texts) < 10:
        texts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def _where() -> str:
    import ray

    return f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:8]}"


def _task(job: Job) -> Called:
    """Runs on a Ray worker: :func:`~gymsuite.agents.sweeps.jobs.call` there, with the host name and Ray node id as
    the node."""
    result, error, _, seconds = call(job)
    return result, error, _where(), seconds


def run_on_ray(jobs: JobQueue, address: str, workers: int, on_done: OnDone | None, retries: int) -> Report:
    """Run every job as a Ray task, at most ``workers`` at once (0: as many as the cluster's resources allow).

    Raises:
        UserError: Ray not installed, the address malformed or unreachable (before any job starts).
    """
    ray = _ray()
    joined = ray.is_initialized()  # this process already started or joined a Ray: use it as it is, and leave it
    if not joined:
        connect(ray, address)
    try:
        return _Run(ray, jobs, workers, on_done, retries).run()
    finally:
        if not joined:
            ray.shutdown()  # stops a private instance; from a cluster it only disconnects this driver


class _Run:
    """The driver's loop: submit, wait, resubmit what a dead worker lost, stop on a signal."""

    def __init__(self, ray: Any, jobs: JobQueue, workers: int, on_done: OnDone | None, retries: int) -> None:
        self.ray, self.on_done, self.retries = ray, on_done, retries
        self.queue, self.workers = jobs, workers
        self.running: dict[Any, Job] = {}  # ObjectRef -> job
        self.attempts: dict[str, int] = {}
        self.report = Report()
        # Ray's own max_retries would rerun a lost task invisibly (no attempt count, the failure's cause dropped):
        # the driver resubmits instead, which keeps the count true and the rule the same as the local pool's.
        self.remote = ray.remote(max_retries=0)(_task)

    def run(self) -> Report:
        with StopSignals() as self.stop:
            try:
                self._loop()
            except KeyboardInterrupt:
                self.report.signum = self.report.signum or self.stop.interrupted()
            if self.running:
                self._drain()
        return self.report

    def _cap(self) -> int:
        """``workers``, or with 0 the cluster's CPUs now (a node that joins or dies changes it)."""
        return self.workers if self.workers > 0 else max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def _fill(self) -> None:
        cap = self._cap()
        while len(self.running) < cap and not self.report.stopped:
            job = self.queue.next()
            if job is None:
                return
            self.attempts[job.key] = self.attempts.get(job.key, 0) + 1
            ref = self.remote.options(num_cpus=job.cpus, num_gpus=job.gpus, name=job.key).remote(job)
            self.running[ref] = job

    def _loop(self) -> None:
        self._fill()
        while self.running and not self.report.stopped:
            done, _ = self.ray.wait(list(self.running), num_returns=1, timeout=POLL_S)
            for ref in done:
                self._finish(ref, self.running.pop(ref))
            self._fill()

    def _finish(self, ref: Any, job: Job) -> None:
        exceptions = self.ray.exceptions
        try:
            result, error, node, seconds = self.ray.get(ref)
            outcome = Outcome(job, result, error, node=node, attempts=self.attempts[job.key], seconds=seconds)
        except exceptions.TaskCancelledError:
            return  # cancelled by a stop before it started: like a job never submitted
        except exceptions.RayTaskError as err:  # raised outside the job (e.g. gymsuite missing on the node)
            if self.report.stopped and isinstance(err.cause, KeyboardInterrupt):
                return  # cancelled by a stop before the job's own handler was in place: like one never started
            cause = str(err.cause if err.cause is not None else err).strip().splitlines()
            outcome = Outcome(job, None, f"{type(err.cause).__name__}: {cause[-1] if cause else ''}",
                              attempts=self.attempts[job.key])
        except exceptions.RayError as err:  # the worker or its node died
            if self.attempts[job.key] <= self.retries and not self.report.stopped:
                self.queue.rerun(job)
                return
            why = str(err).strip().splitlines()[0] if str(err).strip() else ""
            outcome = Outcome(job, None, f"{type(err).__name__}: {why}", lost=True, attempts=self.attempts[job.key])
        self.report.record(outcome, self.on_done)  # one signalled directly stops the rest too

    def _drain(self) -> None:
        """Cancel the running tasks (KeyboardInterrupt in each), give them ``STOP_GRACE_S`` to checkpoint; a second
        Ctrl-C or the deadline kills what is left."""
        for ref in self.running:
            self.ray.cancel(ref)
        deadline = time.monotonic() + STOP_GRACE_S
        try:
            while self.running and time.monotonic() < deadline:
                done, _ = self.ray.wait(list(self.running), num_returns=1, timeout=POLL_S)
                for ref in done:
                    self._finish(ref, self.running.pop(ref))
        except KeyboardInterrupt:
            pass
        for ref, job in self.running.items():
            self.ray.cancel(ref, force=True)
            self.report.outcomes.append(Outcome(job, None, "stopped: did not finish writing in time", lost=True))

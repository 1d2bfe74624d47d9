"""minigrad.distributed, DistributedDataParallel and DistributedSampler across real processes.

Two MPI jobs of 2 ranks (skipped without mpi4py): ``mpiexec -n 2 python tests/mpi_worker.py checks``
saves what every collective and data-parallel training gave on each rank, and the tests below
compare that with numpy and with single-process minigrad training on the same global batches;
the launcher starts a job whose rank 1 raises, which must end the job with the traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import mpi_worker as W  # tests/ is on sys.path, as for strategies.py
import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
from minigrad.nn.parallel import DistributedDataParallel as DDP

HERE = Path(__file__).resolve().parent
WORKER = HERE / "mpi_worker.py"
JOB_TIMEOUT = 120  # seconds; a hung job fails its test instead of hanging the suite



def _mpi_ready() -> bool:
    from minigrad.distributed.run import find_mpiexec

    try:
        find_mpiexec()
    except FileNotFoundError:
        return False
    return dist.is_available()


needs_mpi = pytest.mark.skipif(not _mpi_ready(), reason="needs mpi4py and mpiexec (pip install -e '.[distributed]')")


def _job_env() -> dict:
    """The environment for ranks: the launcher's (one BLAS thread per rank) with this minigrad importable."""
    from minigrad.distributed.run import rank_environment

    env = rank_environment()
    src = str(Path(mg.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, env=_job_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT, cwd=HERE)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(cmd)} did not finish in {JOB_TIMEOUT} s: {exc.stdout} {exc.stderr}")
    return done, time.monotonic() - start


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of the 2 ranks of the checks job saved (one MPI start for all the checks)."""
    from minigrad.distributed.run import find_mpiexec

    out = tmp_path_factory.mktemp("mpi")
    done, _ = _run([find_mpiexec(), "-n", "2", sys.executable, str(WORKER), "checks", str(out)])
    assert done.returncode == 0, done.stdout + done.stderr
    return [dict(np.load(out / f"rank{r}.npz")) for r in range(2)]


# -- collectives ---------------------------------------------------------------------------------


def _expected(op: str, rank: int, dtype: str) -> np.ndarray:
    a, b = W.rank_value(0, dtype), W.rank_value(1, dtype)
    mine = (a, b)[rank]
    return {"all_reduce_sum": a + b, "all_reduce_async": a + b, "all_reduce_max": np.maximum(a, b),
            "all_reduce_min": np.minimum(a, b), "all_reduce_product": a * b,
            "all_reduce_avg": (a + b) / 2, "broadcast": b,
            "reduce": a + b if rank == 0 else mine}[op]


def _inside(holder: np.ndarray, layout: str) -> np.ndarray:
    """The tensor's elements in what the worker saved; a strided tensor's untouched neighbours must stay -7."""
    if layout == "contiguous":
        return holder
    np.testing.assert_array_equal(holder[..., ::2], -7)
    return holder[..., 1::2]


@needs_mpi
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_collectives(ranks, dtype, layout):
    ops = ["all_reduce_sum", "all_reduce_async", "all_reduce_max", "all_reduce_min", "all_reduce_product",
           "broadcast", "reduce"] + (["all_reduce_avg"] if dtype != "int64" else [])
    for rank in range(2):
        assert int(ranks[rank]["world_size"]) == 2
        for op in ops:
            got = ranks[rank][f"{dtype}/{layout}/{op}"]
            assert got.dtype == np.dtype(dtype), (op, got.dtype)
            np.testing.assert_array_equal(_inside(got, layout), _expected(op, rank, dtype), err_msg=f"{op} rank {rank}")
        gathered = ranks[rank][f"{dtype}/{layout}/all_gather"]
        np.testing.assert_array_equal(_inside(gathered, layout), np.stack([W.rank_value(0, dtype),
                                                                           W.rank_value(1, dtype)]))
        # all_gather's input is only read
        np.testing.assert_array_equal(_inside(ranks[rank][f"{dtype}/{layout}/all_gather_input"], layout),
                                      W.rank_value(rank, dtype))


@needs_mpi
def test_collective_errors_raised_on_every_rank(ranks):
    for r in ranks:
        assert "ReduceOp.AVG needs a floating-point tensor, got minigrad.int64" in str(r["error/avg_of_int64"])
        assert "one tensor per rank (2), got 1" in str(r["error/all_gather_list"])


# -- DistributedDataParallel ---------------------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("dtype,opt_name,cap", W.TRAININGS)
def test_ddp_training_equals_single_process_training(ranks, dtype, opt_name, cap):
    """2 ranks, each seeded differently, each on half of every global batch, end where one process
    training on the whole batches ends (rank 0's initial weights), and bit-identical to each other."""
    X, y = W.data(dtype)
    model = W.mlp(100, dtype)
    W.train(model, W.make_optimizer(opt_name, model.parameters()), X, y, W.rows(0, world=1))
    tol = 1e-12 if dtype == "float64" else 1e-6
    expected = W.params_of(model)
    start = W.params_of(W.mlp(100, dtype))
    for i, want in enumerate(expected):
        got0, got1 = ranks[0][f"train/{dtype}/{opt_name}/{i}"], ranks[1][f"train/{dtype}/{opt_name}/{i}"]
        assert got0.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got0, got1)  # the replicas never drift apart
        np.testing.assert_allclose(got0, want, rtol=0, atol=tol)
        assert np.abs(want - start[i]).max() > 100 * tol  # training moved the weights


@needs_mpi
def test_ddp_state_dict_and_module(ranks):
    assert list(ranks[0]["state_dict_keys"]) == ["module.0.weight", "module.0.bias", "module.2.weight",
                                                 "module.2.bias"]
    assert str(ranks[0]["module_is_wrapped"]) == "Sequential"


def _grads(model, X, y, batch: int, part: slice) -> list[np.ndarray]:
    model.zero_grad()
    W.loss_of(model, X, y, batch, part).backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


@needs_mpi
def test_no_sync_accumulates_locally_then_averages_the_sum(ranks):
    X, y = W.data("float64")
    model = W.mlp(7, "float64")  # rank 0's weights, which DDP gave both ranks
    for rank in range(2):
        local = _grads(model, X, y, 0, W.rows(rank))
        for i, g in enumerate(local):
            np.testing.assert_allclose(ranks[rank][f"no_sync/local/{i}"], g, rtol=0, atol=1e-14)
    whole_a = _grads(model, X, y, 0, W.rows(0, world=1))
    whole_b = _grads(model, X, y, 1, W.rows(0, world=1))
    for i, (a, b) in enumerate(zip(whole_a, whole_b)):
        np.testing.assert_array_equal(ranks[0][f"no_sync/synced/{i}"], ranks[1][f"no_sync/synced/{i}"])
        np.testing.assert_allclose(ranks[0][f"no_sync/synced/{i}"], a + b, rtol=0, atol=1e-12)
    assert not np.allclose(ranks[0]["no_sync/local/0"], ranks[1]["no_sync/local/0"])  # ranks saw different data


@needs_mpi
def test_a_parameter_without_gradient_is_reported_at_the_next_forward(ranks):
    for r in ranks:
        assert "did not produce gradients for every parameter" in str(r["error/unused_parameter"])


@needs_mpi
def test_buffers_come_from_rank_0_at_each_training_forward(ranks):
    """Running mean, momentum 0.1, from 0: after one step rank r holds m_r = 0.1 * mu_r, mu_r the mean of its
    own batch (ranks see different batches, the same weights, which no optimizer changes). The second
    forward starts from rank 0's m_0 on every rank: rank r ends at 0.9 * m_0 + 0.1 * mu_r."""
    m = [r["buffers/after_one_step"] for r in ranks]
    assert not np.allclose(m[0], m[1])
    for r in range(2):
        mu = m[r] / 0.1
        np.testing.assert_allclose(ranks[r]["buffers/after_two_steps"], 0.9 * m[0] + 0.1 * mu, rtol=1e-12)


@needs_mpi
def test_sampler_splits_by_the_group(ranks):
    assert ranks[0]["sampler/10"].tolist() == [0, 2, 4, 6, 8]
    assert ranks[1]["sampler/10"].tolist() == [1, 3, 5, 7, 9]
    assert ranks[0]["sampler/11"].tolist() == [0, 2, 4, 6, 8, 10]
    assert ranks[1]["sampler/11"].tolist() == [1, 3, 5, 7, 9, 0]  # padded by wrapping around


# -- launching -----------------------------------------------------------------------------------


@needs_mpi
def test_a_rank_that_raises_ends_the_job_with_its_traceback():
    """Started by the launcher: rank 1 raises while rank 0 waits in all_reduce; the job ends (no hang) with
    rank 1's traceback and a non-zero status passed through; every rank ran with one BLAS thread."""
    env_threads = os.environ.get("OMP_NUM_THREADS", "1")
    done, seconds = _run([sys.executable, "-m", "minigrad.distributed.run", "--nproc-per-node", "2",
                          str(WORKER), "fail"])
    assert done.returncode != 0
    assert "ValueError: rank 1 fails on purpose" in done.stderr
    assert "rank 0 got past the collective" not in done.stdout
    assert f"rank 0: OMP_NUM_THREADS={env_threads}" in done.stdout
    assert f"rank 1: OMP_NUM_THREADS={env_threads}" in done.stdout
    assert seconds < JOB_TIMEOUT


def test_launcher_command_and_environment():
    from minigrad.distributed import run

    cmd = run.build_command(3, "train.py", ["--epochs", "2"], mpiexec="/x/mpiexec")
    assert cmd == ["/x/mpiexec", "-n", "3", sys.executable, "train.py", "--epochs", "2"]
    assert run.build_command(2, "pkg.train", [], module=True, mpiexec="m")[-3:] == [sys.executable, "-m", "pkg.train"]
    env = run.rank_environment({"PATH": "/bin", "MKL_NUM_THREADS": "4"})
    with pytest.raises(SystemExit, match="on several machines"):
        run.main(["--nnodes", "2", "--nproc-per-node", "2", "train.py"])
    with pytest.raises(SystemExit, match="at least 1"):
        run.main(["--nproc-per-node", "0", "train.py"])
    assert env == {"PATH": "/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "4"}


# -- single-process errors (no MPI job needed) ---------------------------------------------------


def test_errors_before_init_process_group():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="only the 'mpi' backend, got backend='nccl'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(mg.ones(2))
    with pytest.raises(ValueError, match="init_process_group"):
        DDP(mg.nn.Linear(2, 2))


def test_data_parallel_is_the_module_on_cpu():
    mg.manual_seed(0)
    inner = mg.nn.Linear(3, 2)
    model = mg.nn.DataParallel(inner)
    assert mg.nn.parallel.DataParallel is mg.nn.DataParallel
    assert model.module is inner
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    x = mg.randn(4, 3)
    np.testing.assert_array_equal(model(x).numpy(), inner(x).numpy())


@needs_mpi
def test_demo_with_two_processes_reports_the_one_process_accuracy(tmp_path):
    from minigrad import demo

    options = ["--epochs", "2", "--no-plot", "--no-progress"]
    one = demo.main(options + ["--out", str(tmp_path / "one")])
    done, _ = _run([sys.executable, "-m", "minigrad.demo", "--nproc", "2", "--out", str(tmp_path / "two")] + options)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "data-parallel over 2 processes" in done.stdout
    final = re.search(r"final test accuracy: ([\d.]+)% \((\d+)/450\), test loss ([\d.]+)", done.stdout)
    assert final is not None, done.stdout
    assert int(final.group(2)) == round(one["test_accuracy"] * 450)
    assert abs(float(final.group(3)) - one["test_loss"]) < 2e-4
    assert done.stdout.count("final test accuracy") == 1  # rank 1 prints nothing


@needs_mpi
def test_ddp_example_script_runs(tmp_path):
    script = HERE.parent / "examples" / "ddp_digits.py"
    done, _ = _run([sys.executable, "-m", "minigrad.distributed.run", "--nproc-per-node", "2", str(script),
                    "--epochs", "1", "--save", str(tmp_path / "w.pt")])
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"2 ranks, 1 epochs: test accuracy \d+\.\d\d%\n", done.stdout), done.stdout
    assert list(mg.load(tmp_path / "w.pt")) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_mpi4py_is_imported_only_when_needed_and_its_absence_is_explained():
    program = (
        "import sys\n"
        "import minigrad, minigrad.distributed as dist, minigrad.nn.parallel\n"
        "assert 'mpi4py' not in sys.modules, 'imported too early'\n"
        "sys.modules['mpi4py'] = None  # as if it were not installed\n"
        "try:\n"
        "    dist.init_process_group('mpi')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], env=_job_env(), capture_output=True, text=True,
                          timeout=JOB_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert 'pip install "minigrad[distributed]"' in done.stdout

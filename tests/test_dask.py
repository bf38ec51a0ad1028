"""A hyperparameter search of fastbp's scikit-learn estimators on a real Dask cluster:
GridSearchCV(n_jobs=-1) under joblib's "dask" backend, over a LocalCluster of two worker
processes, gives what the sequential search gives."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")
pytest.importorskip("sklearn")

import joblib  # noqa: E402  (scikit-learn's dependency)
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

import fastbp  # noqa: E402
from fastbp.sklearn import MLPClassifier  # noqa: E402

SCORES = ["mean_test_score", "std_test_score", "rank_test_score",
          *(f"split{k}_test_score" for k in range(3))]


# 40 iterations keep the search short; scikit-learn then warns that they did not converge
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_on_a_dask_cluster_equals_the_sequential_search():
    x, y = make_classification(n_samples=240, n_features=10, n_informative=6, n_classes=3,
                               random_state=0)
    estimator = MLPClassifier(hidden_layer_sizes=(16,), max_iter=40, random_state=0)
    grid = {"alpha": [1e-4, 3.0], "learning_rate_init": [1e-3, 3e-2],
            "solver": ["adam", "sgd"]}
    sequential = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(x, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            search = GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(x, y)
        workers = {task["worker"] for task in tasks.data}
    assert len(workers) == 2  # the fits ran in both worker processes
    assert search.best_params_ == sequential.best_params_
    assert search.best_index_ == sequential.best_index_
    for key in SCORES:
        # the same computation in another process: the same floats (the workers run one
        # BLAS thread, this process maybe more; GEMM's sums may differ in the last bit)
        np.testing.assert_allclose(search.cv_results_[key], sequential.cv_results_[key],
                                   rtol=1e-12, err_msg=key)
    np.testing.assert_array_equal(search.predict(x), sequential.predict(x))


README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.is_file(), reason="tests run from a copy without the README")
def test_readme_recipe_runs_as_written(tmp_path):
    recipe = re.search(r"cat > search.py <<'EOF'\n(.*?)\nEOF\npython search.py",
                       README.read_text(encoding="utf-8"), re.S)
    (tmp_path / "search.py").write_text(recipe.group(1), encoding="utf-8")
    # the workers import the fastbp under test, wherever it was imported from here
    path = os.pathsep.join([str(Path(fastbp.__file__).parent.parent),
                            os.environ.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "search.py"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, PYTHONPATH=path))
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"\{'alpha': .*, 'hidden_layer_sizes': .*\} 0\.9\d\d\n", out.stdout)

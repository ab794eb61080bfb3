"""The pipeline's contract as its own code states it: metric names from the layer
(lambdas/common/pipeline_common/metrics.py), resource names from template.yaml.

The layer is deployed as a Lambda layer, not installed into the tools' environment, so its
metrics module (standard library only) is loaded from its file: the same list the Lambdas check
every metric against, never a copy.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_METRICS = REPO_ROOT / "lambdas" / "common" / "pipeline_common" / "metrics.py"
# What the pipeline's tools deploy by default (`python -m pipeline_tools up|run`, the tests):
# local_aws itself has no default template or stack name.
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
STACK_NAME = "sqs-fifo-pipeline"


@cache
def _layer_metrics() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pipeline_contract_metrics", LAYER_METRICS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


METRIC_NAMES: tuple[str, ...] = tuple(_layer_metrics().METRIC_NAMES)

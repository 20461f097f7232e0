"""Schemathesis fuzzes every operation of the OpenAPI description: never a 500, and answers as described."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serve_helpers import running, trained_bundle  # noqa: E402
from trainlab.serve.app import ServeSettings, create_app  # noqa: E402

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):
    bundle = trained_bundle(tmp_path_factory)
    settings = ServeSettings(bundle=bundle, runs_dir=tmp_path_factory.mktemp("fuzz-runs"))
    with running(create_app(settings)) as base:
        yield base


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_fuzzing_finds_no_server_error_and_answers_match_the_description(url: str, mode: str) -> None:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/predict/file", "/v2/models/{model_name}/infer"}
    failures: list[str] = []
    fuzzed: list[str] = []
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            try:  # no 500, and status, content type and body as the description says
                case.call_and_validate(base_url=url, timeout=30, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:300]}")

        try:
            check()
        except Unsatisfiable:  # no body, and any text is a valid path: nothing invalid to send
            assert mode == "negative" and not operation.body
            continue
        fuzzed.append(operation.path)
    assert "/predict" in fuzzed and "/v2/models/{model_name}/infer" in fuzzed
    assert not failures, "\n".join(failures[:5])

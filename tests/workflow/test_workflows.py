"""The GitHub Actions workflows: valid (the schemas GitHub's own editor tooling uses) and in step with the repository.

actionlint could not be installed here (its PyPI package downloads the binary from GitHub at build time), so the
files are checked against SchemaStore's workflow and action schemas, as vendored by check-jsonschema, and by the
project-specific checks below. actionlint, where installed, also shellchecks the `run:` scripts (docs/workflow.md).
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
SETUP_ACTION = ROOT / ".github" / "actions" / "setup" / "action.yml"
PULUMI_ACTION = "pulumi/actions@v7"
# pulumi/actions v7.0.0's action.yml inputs (the action's own reference).
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel",
    "message", "config-map", "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target",
    "target-dependents", "policyPacks", "policyPackConfigs", "refresh", "upsert", "remove", "edit-pr-comment",
    "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress", "always-include-summary",
    "continue-on-error", "log-verbosity", "log-flow", "debug",
}  # fmt: skip
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def load(path: Path):
    return YAML(typ="safe").load(path.read_text())  # YAML 1.2: `on` stays a string


def vendored_schema(name: str) -> dict:
    return json.loads(resources.files("check_jsonschema.builtin_schemas.vendor").joinpath(name).read_text())


@pytest.fixture(scope="module")
def pull_request():
    return load(WORKFLOWS / "pull-request.yml")


@pytest.fixture(scope="module")
def apply():
    return load(WORKFLOWS / "apply.yml")


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def pulumi_step(workflow: dict, job: str) -> dict:
    [step] = [step for step in steps(workflow, job) if step.get("uses", "").startswith("pulumi/actions")]
    return step


def all_workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + [SETUP_ACTION]


# --- valid files -----------------------------------------------------------------------------------------
def test_both_workflows_exist():
    assert {"apply.yml", "pull-request.yml"} <= {path.name for path in WORKFLOWS.glob("*.yml")}


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.y*ml")), ids=lambda path: path.name)
def test_workflow_matches_the_github_workflow_schema(path):
    jsonschema.validate(load(path), vendored_schema("github-workflows.json"))


def test_setup_action_matches_the_github_action_schema():
    jsonschema.validate(load(SETUP_ACTION), vendored_schema("github-actions.json"))


def test_the_schema_check_catches_a_broken_workflow():
    broken = load(WORKFLOWS / "pull-request.yml")
    broken["jobs"]["tests"]["runs-on"] = None
    del broken["jobs"]["tests"]["steps"][0]["uses"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, vendored_schema("github-workflows.json"))


def test_pulumi_action_is_the_current_major_with_known_inputs_only(pull_request, apply):
    for workflow, job in ((pull_request, "preview"), (apply, "apply")):
        step = pulumi_step(workflow, job)
        assert step["uses"] == PULUMI_ACTION
        assert set(step["with"]) <= PULUMI_ACTION_INPUTS, set(step["with"]) - PULUMI_ACTION_INPUTS


def test_local_action_inputs_and_job_references_resolve(pull_request, apply):
    assert "inputs" not in load(SETUP_ACTION)
    for workflow in (pull_request, apply):
        for name, job in workflow["jobs"].items():
            for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
                assert need in workflow["jobs"], (name, need)
            for step in job["steps"]:
                if step.get("uses", "").startswith("./"):
                    assert (ROOT / step["uses"] / "action.yml").is_file(), step["uses"]
                    assert "with" not in step


def test_no_expression_is_expanded_inside_a_shell_script():
    # `${{ }}` in `run:` is pasted into the script before it runs (script injection): values go through env.
    for path in all_workflow_files():
        data = load(path)
        jobs = data["jobs"].values() if "jobs" in data else [data["runs"]]
        for job in jobs:
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), (path.name, step.get("name"))


# --- in step with the repository ----------------------------------------------------------------------------
def test_one_python_version_everywhere():
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", version)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    setups = []
    for path in all_workflow_files():
        text = path.read_text()
        assert "python-version:" not in text, f"{path.name}: read the version from .python-version"
        setups += [path.name for _ in re.finditer(r"uses: actions/setup-python@", text)]
    assert setups == ["action.yml"]  # only the setup action installs Python
    [setup_python] = [step for step in load(SETUP_ACTION)["runs"]["steps"] if "setup-python" in step.get("uses", "")]
    assert setup_python["with"]["python-version-file"] == ".python-version"


def test_every_job_that_runs_python_or_pulumi_uses_the_setup_action(pull_request, apply):
    for workflow in (pull_request, apply):
        for name, job in workflow["jobs"].items():
            uses = [step.get("uses", "") for step in job["steps"]]
            assert "./.github/actions/setup" in uses, name
            setup, checkout = uses.index("./.github/actions/setup"), uses.index("actions/checkout@v4")
            assert checkout < setup
            for index, use in enumerate(uses):
                if use.startswith("pulumi/actions"):
                    assert setup < index, name


def test_virtualenvs_are_where_the_project_files_expect_them():
    script = load(SETUP_ACTION)["runs"]["steps"][1]["run"]
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    program_venv = project["runtime"]["options"]["virtualenv"]
    pack_venv = f"policy/{pack['runtime']['options']['virtualenv']}"
    assert f"python -m venv {program_venv}\n" in script
    assert f"{program_venv}/bin/python -m pip install --disable-pip-version-check -r requirements.txt" in script
    assert f"python -m venv {pack_venv}\n" in script
    assert f"{pack_venv}/bin/python -m pip install --disable-pip-version-check -r policy/requirements.txt" in script
    for requirements in re.findall(r"-r (\S+)", script):
        assert (ROOT / requirements).is_file(), requirements


def stacks_in_repository() -> set[str]:
    return {path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml")}


def test_every_stack_is_previewed_and_applied(pull_request, apply):
    assert stacks_in_repository() == {"dev", "prod"}
    previewed = pull_request["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    applied = [entry["stack"] for entry in apply["jobs"]["apply"]["strategy"]["matrix"]["include"]]
    assert set(previewed) == set(applied) == stacks_in_repository()
    assert applied == ["dev", "prod"]  # dev first
    assert apply["jobs"]["apply"]["strategy"]["max-parallel"] == 1


def test_stack_names_are_the_self_managed_backends_fully_qualified_names(pull_request, apply):
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
    for workflow, job in ((pull_request, "preview"), (apply, "apply")):
        step = pulumi_step(workflow, job)
        assert step["with"]["stack-name"] == f"organization/{project}/${{{{ matrix.stack }}}}"
        assert step["with"]["work-dir"] == "."
        assert (ROOT / step["with"]["work-dir"] / "Pulumi.yaml").is_file()
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_preview_posts_the_diff_runs_the_policy_pack_and_saves_the_plan(pull_request):
    job = pull_request["jobs"]["preview"]
    step = pulumi_step(pull_request, "preview")["with"]
    assert step["command"] == "preview"
    assert step["diff"] is True and step["comment-on-pr"] is True
    assert step["policyPacks"] == "policy" and (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert step["plan"] == "${{ runner.temp }}/reviewed/plan.json"
    assert job["needs"] == "tests"
    assert job["permissions"]["pull-requests"] == "write"
    [upload] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["with"]["name"] == "plan-${{ matrix.stack }}"
    assert upload["with"]["path"] == "${{ runner.temp }}/reviewed/"
    record = "\n".join(s.get("run", "") for s in job["steps"])
    assert "git rev-parse 'HEAD^{tree}' > \"$RUNNER_TEMP/reviewed/tree\"" in record


def test_apply_runs_up_with_the_reviewed_plan_of_the_same_tree(apply, pull_request):
    job = apply["jobs"]["apply"]
    step = pulumi_step(apply, "apply")["with"]
    assert step["command"] == "up"
    assert step["plan"] == "${{ runner.temp }}/reviewed/plan.json"
    fetch = next(s for s in job["steps"] if s.get("name") == "Fetch the plan reviewed in the pull request")
    script = fetch["run"]
    assert fetch["env"]["STACK"] == "${{ matrix.stack }}"
    assert '--name "plan-$STACK" --dir "$RUNNER_TEMP/reviewed"' in script
    assert f"--workflow {(WORKFLOWS / 'pull-request.yml').name} --event pull_request" in script
    assert "current=$(git rev-parse 'HEAD^{tree}')" in script and '[ "$reviewed" != "$current" ]' in script
    assert job["steps"].index(fetch) < job["steps"].index(pulumi_step(apply, "apply"))
    assert apply["on"] == {"push": {"branches": ["main"]}}
    assert pull_request["on"] == {"pull_request": {"branches": ["main"]}}
    assert apply["concurrency"]["cancel-in-progress"] is False


def test_the_tests_job_runs_the_fast_tests_and_the_linters(pull_request):
    commands = [step.get("run", "") for step in steps(pull_request, "tests")]
    assert 'venv/bin/python -m pytest -q -m "not integration"' in commands
    assert "venv/bin/ruff check . && venv/bin/ruff format --check ." in commands
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert any(marker.startswith("integration:") for marker in markers)


def test_fork_pull_requests_never_get_secrets(pull_request):
    assert pull_request["jobs"]["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "secrets." not in json.dumps(pull_request["jobs"]["tests"])
    for path in WORKFLOWS.glob("*.yml"):
        assert "pull_request_target" not in path.read_text()


def referenced(kind: str) -> set[str]:
    """Names of `secrets.X` / `vars.X` used in any workflow expression."""
    names = set()
    for path in all_workflow_files():
        for expression in EXPRESSION.findall(path.read_text()):
            names |= set(re.findall(rf"\b{kind}\.([A-Z][A-Z0-9_]*)", expression))
    return names


def documented() -> dict[str, set[str]]:
    """The docs' table of what a team sets: | `NAME` | secret or variable | ... |"""
    rows = re.findall(
        r"^\| `([A-Z][A-Z0-9_]*)` \| (secret|variable) \|", (ROOT / "docs" / "workflow.md").read_text(), re.M
    )
    return {kind: {name for name, row_kind in rows if row_kind == kind} for kind in ("secret", "variable")}


def test_every_secret_and_variable_used_is_documented_and_every_documented_one_is_used():
    assert referenced("secrets") == documented()["secret"]
    assert referenced("vars") == documented()["variable"]
    assert {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_STATE_ACCESS_KEY_ID", "PULUMI_STATE_SECRET_ACCESS_KEY"} <= referenced(
        "secrets"
    )
    assert "PULUMI_BACKEND_URL" in referenced("vars")

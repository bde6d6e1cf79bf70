"""The notebook's start-up (OnStart) lifecycle script: Enclave's idle auto-stop, then the template's own steps."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from workspaces.backends.base import InvalidCloudRequest

LIFECYCLE_SCRIPT_MAX_CHARS = 16384  # per script, after base64 encoding

_AUTOSTOP_PY = r'''
"""Enclave idle auto-stop: stop this notebook instance once Jupyter has been idle long enough."""
import datetime, json, os, shutil, ssl, subprocess, sys, urllib.request

IDLE_MINUTES = int(sys.argv[1])
STATE = "/home/ec2-user/.enclave/idle-since"
now = datetime.datetime.now(datetime.timezone.utc)


def parse(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE  # Jupyter's own self-signed certificate on localhost
try:
    with urllib.request.urlopen("https://localhost:8443/api/sessions", context=context, timeout=10) as reply:
        sessions = json.load(reply)
except OSError as exc:
    sys.exit(f"Jupyter not reachable yet: {exc}")

kernels = [s["kernel"] for s in sessions if s.get("kernel")]
if any(k.get("execution_state") == "busy" for k in kernels):
    last_activity = now
elif kernels:
    last_activity = max(parse(k["last_activity"]) for k in kernels)
else:
    if not os.path.exists(STATE):
        with open(STATE, "w") as handle:
            handle.write(now.isoformat())
    with open(STATE) as handle:
        last_activity = parse(handle.read().strip())
if kernels and os.path.exists(STATE):
    os.remove(STATE)

idle = now - last_activity
if idle < datetime.timedelta(minutes=IDLE_MINUTES):
    sys.exit(0)
with open("/opt/ml/metadata/resource-metadata.json") as handle:
    metadata = json.load(handle)
name = metadata["ResourceName"]
region = metadata["ResourceArn"].split(":")[3]
aws = shutil.which("aws") or "/usr/local/bin/aws"
print(f"{now.isoformat()} idle for {idle}; stopping notebook instance {name}", flush=True)
subprocess.run([aws, "sagemaker", "stop-notebook-instance", "--region", region,
                "--notebook-instance-name", name], check=True)
'''.lstrip()


def lifecycle_on_start_script(idle_stop_minutes: int, extra_script: str = "") -> str:
    """The OnStart script: install the idle auto-stop (checked by cron every 5 minutes), then the template's own.

    Lifecycle scripts run as root even with ``RootAccess=Disabled``; the template's extra script runs
    last, in a subshell, so it cannot switch the auto-stop off by exiting early.
    """
    script = f"""#!/bin/bash
set -euo pipefail
# Enclave baseline: stop the notebook instance after {idle_stop_minutes} idle minutes.
mkdir -p /home/ec2-user/.enclave
cat > /home/ec2-user/.enclave/autostop.py <<'ENCLAVE_AUTOSTOP'
{_AUTOSTOP_PY}ENCLAVE_AUTOSTOP
chmod 0755 /home/ec2-user/.enclave/autostop.py
echo "*/5 * * * * root /usr/bin/python3 /home/ec2-user/.enclave/autostop.py {int(idle_stop_minutes)} \
>> /var/log/enclave-autostop.log 2>&1" > /etc/cron.d/enclave-autostop
chmod 0644 /etc/cron.d/enclave-autostop
"""
    if extra_script.strip():
        script += f"\n# Template's own start-up steps.\n(\n{extra_script.rstrip()}\n)\n"
    return script


def lifecycle_content(hardening: Mapping[str, Any]) -> str:
    """The base64 OnStart script, refused before anything is built if AWS would reject its length."""
    script = lifecycle_on_start_script(
        int(hardening.get("idle_stop_minutes", 60)), hardening.get("extra_lifecycle_script", "")
    )
    content = base64.b64encode(script.encode()).decode()
    if len(content) > LIFECYCLE_SCRIPT_MAX_CHARS:
        raise InvalidCloudRequest(
            "The template's extra lifecycle script is too long: with Enclave's idle auto-stop it exceeds AWS's "
            f"limit of {LIFECYCLE_SCRIPT_MAX_CHARS} base64 characters ({len(content)}). Shorten the script.",
            provider_code="LifecycleScriptTooLong",
        )
    return content

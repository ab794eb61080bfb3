"""What a worker process looks like from inside (tests/local_aws/awslambda/test_fork_server.py)."""

import os
import random
import signal
import sys
import time

# Read at init, before this module imports anything: is the SDK already imported?
SDK_PRELOADED = "boto3" in sys.modules
import boto3  # noqa: E402  (after the check on purpose)


def lambda_handler(event, context):
    if event.get("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "sdk_preloaded": SDK_PRELOADED,
        "boto3_file": boto3.__file__,
        "sys_path": sys.path,
        "argv_length": len(sys.argv),
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "flags": [sys.flags.isolated, sys.flags.no_site, sys.flags.ignore_environment],
        "session_leader": os.getsid(0) == os.getpid() == os.getpgid(0),
        "stdin_is_devnull": os.path.samestat(os.fstat(0), os.stat(os.devnull)),
        "stdout_is_stderr": os.path.samestat(os.fstat(1), os.fstat(2)),
        "open_fds": len(os.listdir("/proc/self/fd")),
        "tzname": list(time.tzname),
        "random": random.random(),
    }

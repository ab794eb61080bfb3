"""Command line of the local stack: `python -m local_aws <command>`.

    python -m local_aws serve [--port 4577]          # bare endpoint (no template deployed)
    python -m local_aws faults add --service dynamodb --operation PutItem \\
        --error ProvisionedThroughputExceededException --count 3
    python -m local_aws faults add --service lambda --kind crash --function my-function --count 1
    python -m local_aws faults list | clear | remove <id>
    python -m local_aws invocations [--function NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

from local_aws import config as settings


def _request(endpoint: str, method: str, path: str, data: object | None = None) -> dict:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(
        endpoint.rstrip("/") + path,
        data=body,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        raise SystemExit(f"{method} {path} failed: HTTP {error.code} {detail}") from error
    except urllib.error.URLError as error:
        raise SystemExit(f"local stack not reachable at {endpoint}: {error.reason}") from error


def _print_rules(rules: list[dict]) -> None:
    if not rules:
        print("no fault rules")
        return
    print(f"{'id':8}  {'service':12} {'operation':18} {'fault':40} {'when':14} injected")
    for rule in rules:
        fault = rule["error_code"] if rule["kind"] == "error" else f"lambda {rule['kind']}"
        if rule.get("function"):
            fault += f" ({rule['function']})"
        if rule.get("count") is not None:
            when = f"next {rule['count']}"
        elif rule.get("probability") is not None:
            when = f"p={rule['probability']}"
        else:
            when = "always"
        print(
            f"{rule['id']:8}  {rule['service']:12} {rule['operation']:18} {fault:40} "
            f"{when:14} {rule['injected']}"
        )


def _faults(args: argparse.Namespace) -> int:
    endpoint = args.endpoint
    if args.action == "add":
        rule: dict = {"service": args.service, "operation": args.operation, "kind": args.kind}
        for key in ("error", "message", "count", "probability", "http_status", "function"):
            value = getattr(args, key)
            if value is not None:
                rule["error_code" if key == "error" else key] = value
        result = _request(endpoint, "POST", "/_local_aws/faults", rule)
        _print_rules(result["rules"])
    elif args.action == "list":
        _print_rules(_request(endpoint, "GET", "/_local_aws/faults")["rules"])
    elif args.action == "clear":
        _request(endpoint, "DELETE", "/_local_aws/faults")
        print("fault rules cleared")
    elif args.action == "remove":
        _request(endpoint, "DELETE", f"/_local_aws/faults/{args.id}")
        print(f"fault rule {args.id} removed")
    return 0


def _invocations(args: argparse.Namespace) -> int:
    path = "/_local_aws/invocations" + (f"?function={args.function}" if args.function else "")
    for record in _request(args.endpoint, "GET", path)["invocations"]:
        print(json.dumps(record))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from local_aws.server import LocalAWS

    aws = LocalAWS(port=args.port, verbose=args.verbose).start()
    print(f"local AWS listening on {aws.endpoint_url} (Ctrl-C to stop)", flush=True)
    aws.serve_forever()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_aws", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the bare local endpoint")
    serve.add_argument("--port", type=int, default=None, help="default: $LOCAL_AWS_PORT or 4577")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)

    faults = commands.add_parser("faults", help="inject AWS errors / Lambda crashes and timeouts")
    faults.add_argument("--endpoint", default=settings.endpoint_url())
    actions = faults.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a fault rule")
    add.add_argument("--service", required=True, help="dynamodb, sqs, cloudwatch, lambda, ...")
    add.add_argument("--operation", default="*", help="e.g. PutItem (default: any)")
    add.add_argument("--error", help="AWS error code, e.g. ProvisionedThroughputExceededException")
    add.add_argument("--message")
    add.add_argument("--kind", default="error", choices=["error", "crash", "timeout"])
    add.add_argument("--function", help="lambda faults: only this function")
    add.add_argument("--http-status", dest="http_status", type=int)
    how = add.add_mutually_exclusive_group()
    how.add_argument("--count", type=int, help="fail the next N matching calls")
    how.add_argument("--probability", type=float, help="fail each matching call with this chance")
    actions.add_parser("list", help="list rules and how many calls each failed")
    actions.add_parser("clear", help="remove every rule")
    remove = actions.add_parser("remove", help="remove one rule")
    remove.add_argument("id")
    faults.set_defaults(run=_faults)

    invocations = commands.add_parser("invocations", help="Lambda invocations (JSON lines)")
    invocations.add_argument("--endpoint", default=settings.endpoint_url())
    invocations.add_argument("--function")
    invocations.set_defaults(run=_invocations)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""Fault injection on the local endpoint (rules, matching, the injected AWS errors)."""

from local_aws.faults.injector import FaultInjector, FaultRule, fault_response

__all__ = ["FaultInjector", "FaultRule", "fault_response"]

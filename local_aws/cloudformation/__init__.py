"""CloudFormation for the local endpoint: template resolution and the deployer."""

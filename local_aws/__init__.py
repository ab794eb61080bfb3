"""An embedded AWS for this project: moto in server mode plus the pieces moto lacks
(a Docker-free Lambda runtime, StartSyncExecution, the EventBridge Pipe, fault injection)."""

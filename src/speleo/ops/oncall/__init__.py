"""On-call: schedules (`schedule`, pure time arithmetic), their records (`models`), operations
(`service`), escalation chains and their durable steps (`escalation`), readiness (`readiness`).

The shape follows Grafana OnCall's model (learning-loop spec 2.2): a schedule is layers of
rotations plus overrides, computed in the schedule's own IANA time zone; an escalation policy is
an ordered list of steps. Routes: `speleo.server.oncall_api`; commands: `speleo.cli.oncall_cmds`.
"""

"""The shared vocabulary below every app: roles, the request/task context, domain errors,
role-gated views and the schedule registry. It imports nothing of ours, so every app may use it."""

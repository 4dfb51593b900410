"""The tasks the training commands train: a `Task` subclass per module (`base.Task` says
what one gives the runner)."""

"""The engine: time's way in. A pass plans what is due (planner), claims jobs and runs them
through the job-kind registry (runner, job_kinds); the ticker calls it on an interval."""

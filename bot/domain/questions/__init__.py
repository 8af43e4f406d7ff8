"""Custom questions: a cadence's own questions, asked after its form's built-in fields.

- `definition`: the question types, rules and limits (pure), shared by everything below.
- `queries`: which questions a cadence (or an engagement's defaults) asks now, and versions.
- `editing`: the question editor's grammar, and adding, editing, removing, reordering them
  (the engagement's leads and Cadence admins), templates applied (`templates`).
- `answering`: reading, validating, storing and prefilling answers on a check-in's form.
- `rules`: an answer that raises a concern or alerts the leads, once per check-in and question.
"""

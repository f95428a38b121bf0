"""Settings for `nbgrader validate` run in this folder: every cell counts, the visible tests included."""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
c.Validator.validate_all = True

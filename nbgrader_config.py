"""nbgrader configuration of the MNIST-in-NumPy course (read by every nbgrader command run here)."""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "mnist-numpy"

# The stub students see in place of each solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Grading: each cell may run for this many seconds before it is stopped and marked failed.
# The slowest correct cell (training on 50,000 images) takes about one second.
c.Execute.timeout = 60

# Class data never goes to students with the assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

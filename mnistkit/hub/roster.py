"""Who is on the hub: the courses of ``hub.toml`` and their instructors, teaching assistants and students."""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mnistkit.intake.rules import student_id_problem

# Unix account names that every tool accepts (useradd's own rule is wider), and course ids that fit
# in a group, a service name and a URL path alike.
ACCOUNT = re.compile(r"[a-z][a-z0-9-]{0,30}")
ROLES = ("instructors", "assistants", "students")


class RosterError(ValueError):
    """``hub.toml`` is not a roster the hub can use; the message says where and why."""


@dataclass(frozen=True)
class HubCourse:
    """One course on the hub, with its people (each a Unix account)."""

    course_id: str
    instructors: tuple
    assistants: tuple
    students: tuple

    @property
    def grader(self):
        """The account that owns the course directory and runs its Formgrader (nbgrader's own convention)."""
        return f"grader-{self.course_id}"

    @property
    def staff(self):
        """Who may open the course's Formgrader: its instructors and teaching assistants."""
        return (*self.instructors, *self.assistants)


@dataclass(frozen=True)
class Roster:
    courses: tuple

    def people(self):
        """Every person's account, each once, in order."""
        return sorted({name for course in self.courses for role in ROLES for name in getattr(course, role)})

    def accounts(self):
        """Every account the hub needs: the people and each course's grader account."""
        return [*self.people(), *(course.grader for course in self.courses)]

    def groups(self):
        """JupyterHub's groups, named as nbgrader expects: ``formgrade-<course>`` may open the course's
        Formgrader; ``nbgrader-<course>`` sees the course in the Assignments list."""
        groups = {}
        for course in self.courses:
            groups[f"formgrade-{course.course_id}"] = [*course.staff, course.grader]
            groups[f"nbgrader-{course.course_id}"] = [*course.instructors, *course.students]
        return groups

    def staff(self):
        return sorted({name for course in self.courses for name in course.staff})


def load_roster(path):
    """The `Roster` of ``path`` (a ``hub.toml``); `RosterError` with the reason when it is not one."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise RosterError(f"{path}: no such file (the hub's courses and people are listed there)") from None
    except tomllib.TOMLDecodeError as error:
        raise RosterError(f"{path}: not valid TOML ({error})") from None
    courses = data.get("courses")
    if not isinstance(courses, dict) or not courses:
        raise RosterError(f"{path}: no courses (add a [courses.<id>] table for each)")
    found, roles_of = [], {}
    for course_id, table in courses.items():
        where = f"{path}: [courses.{course_id}]"
        if not ACCOUNT.fullmatch(course_id):
            raise RosterError(f"{where}: a course id is lower-case letters, digits and '-', starting with a "
                              "letter, at most 31 long")
        if not isinstance(table, dict) or set(table) - set(ROLES):
            raise RosterError(f"{where}: only {', '.join(ROLES)} may be listed")
        people = {}
        for role in ROLES:
            names = table.get(role, [])
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise RosterError(f"{where}: {role} must be a list of account names")
            for name in names:
                if not ACCOUNT.fullmatch(name) or name.startswith("grader-") or student_id_problem(name):
                    raise RosterError(f"{where}: {name!r} cannot be an account on the hub: an account name is "
                                      "lower-case letters, digits and '-', starting with a letter, at most 31 "
                                      "long, and not grader-... (the courses' own accounts)")
                if name in people:
                    raise RosterError(f"{where}: {name!r} is listed twice")
                if roles_of.get(name, role) != role:
                    raise RosterError(f"{where}: {name!r} is one of the {roles_of[name]} of another course: "
                                      "one account has one role on the hub")
                people[name], roles_of[name] = role, role
            if role == "instructors" and not names:
                raise RosterError(f"{where}: a course needs at least one instructor")
        found.append(HubCourse(course_id, *(tuple(table.get(role, [])) for role in ROLES)))
    return Roster(tuple(found))
